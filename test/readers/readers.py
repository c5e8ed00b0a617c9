"""Read each stream folder given on the command line with five readers, no options beyond turning
hive partitioning on; print JSON: {folder: {reader: {"rows": n, "types": {column: type}} | {"error": msg}}}."""
import json, sys, warnings

warnings.filterwarnings("ignore")
import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq


def duck(folder):
    r = duckdb.sql(f"select * from read_parquet('{folder}/**/*.parquet', hive_partitioning = true)")
    return len(r.fetchall()), dict(zip(r.columns, map(str, r.types)))


def polars(folder):
    df = pl.scan_parquet(folder, hive_partitioning=True).collect()
    return df.height, {k: str(v) for k, v in df.schema.items()}


def read_table(folder):
    t = pq.read_table(folder)
    return t.num_rows, {f.name: str(f.type) for f in t.schema}


def dataset(folder):
    t = ds.dataset(folder, partitioning="hive").to_table()
    return t.num_rows, {f.name: str(f.type) for f in t.schema}


def pandas(folder):
    df = pd.read_parquet(folder)
    # Column dtype plus whether it holds nulls (pandas' numpy representation turns a nullable int64 with nulls into float64).
    return len(df), {k: f"{v}{'?' if df[k].isna().any() else ''}" for k, v in df.dtypes.items()}


READERS = {"duckdb": duck, "polars.scan_parquet": polars, "pyarrow.parquet.read_table": read_table, "pyarrow.dataset": dataset, "pandas.read_parquet": pandas}
out = {}
for folder in sys.argv[1:]:
    out[folder] = {}
    for name, fn in READERS.items():
        try:
            n, types = fn(folder)
            out[folder][name] = {"rows": n, "types": types}
        except Exception as e:  # reported, and the test fails on it
            out[folder][name] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
print(json.dumps(out))
