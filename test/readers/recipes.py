"""Run every ```python and ```sql block of a Markdown file (docs/reading.md) in a fresh namespace,
with the working directory given (where `data` is the data dir) and the date 2026-11-24 replaced by
the run's date. Print JSON: [{"block": i, "lang": ..., "vars": {name: {"rows": n, "columns": [...], "first": {...}}}} | {"error": ...}]."""
import json, os, re, sys, warnings

warnings.filterwarnings("ignore")
doc, cwd, day = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(doc).read().replace("2026-11-24", day)
blocks = re.findall(r"```(python|sql)\n(.*?)```", text, re.S)
os.chdir(cwd)


def describe(v):
    import duckdb, pandas as pd, polars as pl, pyarrow as pa

    if isinstance(v, duckdb.DuckDBPyRelation):
        v = v.pl()
    if isinstance(v, pa.Table):
        v = pl.from_arrow(v)
    if isinstance(v, pd.DataFrame):
        return {"rows": len(v), "columns": list(map(str, v.columns)), "first": json.loads(v.head(1).to_json(orient="records", default_handler=str))[0] if len(v) else None}
    if isinstance(v, pl.DataFrame):
        return {"rows": v.height, "columns": v.columns, "first": json.loads(json.dumps(v.head(1).to_dicts()[0], default=str)) if v.height else None}
    return None


out = []
for i, (lang, code) in enumerate(blocks):
    try:
        ns = {}
        if lang == "sql":
            import duckdb

            ns["sql_result"] = duckdb.sql(code)
        else:
            exec(compile(code, f"{doc} block {i}", "exec"), ns)
        vars_ = {k: d for k, v in ns.items() if not k.startswith("_") and (d := describe(v)) is not None}
        out.append({"block": i, "lang": lang, "vars": vars_})
    except Exception as e:
        out.append({"block": i, "lang": lang, "error": f"{type(e).__name__}: {e}"[:500]})
print(json.dumps(out))
