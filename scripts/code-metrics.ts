/**
 * Code metrics for src/ (issue 13's closing note): per file, the non-null assertions (`x!`), the
 * `as unknown as` casts, the functions over 80 lines and whether the file is over 300 lines.
 * Parses with the repository's own `typescript` package (no type check), so it runs in a second.
 * Usage: bun scripts/code-metrics.ts [DIR…]   (default: src; e.g. `bun scripts/code-metrics.ts src/compact src/inspect`)
 *        add --functions to list every function over 80 lines with its line span.
 * A function is any function declaration, method, constructor, accessor, function expression or arrow
 * function; its length is the count of lines from its first to its last line. Nested functions count
 * separately (an outer function's length includes its inner ones).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";

const LONG_FUNCTION = 80;
const LONG_FILE = 300;

interface FileMetrics {
  file: string;
  lines: number;
  nonNull: number;
  unknownCasts: number;
  longFunctions: { name: string; start: number; lines: number }[];
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []))
    .sort();
}

function functionName(node: ts.Node): string {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isFunctionExpression(node)) && node.name) return node.name.getText();
  if (ts.isConstructorDeclaration(node)) return "constructor";
  if (ts.isGetAccessor(node) || ts.isSetAccessor(node)) return node.name.getText();
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent)) return parent.name.getText();
  return "(anonymous)";
}

function measure(path: string, root: string): FileMetrics {
  const text = readFileSync(path, "utf8");
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line + 1;
  const m: FileMetrics = {
    file: relative(root, path),
    lines: text.split("\n").length - (text.endsWith("\n") ? 1 : 0),
    nonNull: 0,
    unknownCasts: 0,
    longFunctions: [],
  };
  const visit = (node: ts.Node): void => {
    if (ts.isNonNullExpression(node)) m.nonNull++;
    if (ts.isAsExpression(node) && ts.isAsExpression(node.expression) && node.expression.type.kind === ts.SyntaxKind.UnknownKeyword) m.unknownCasts++;
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const start = lineOf(node.getStart(source));
      const lines = lineOf(node.getEnd()) - start + 1;
      if (lines > LONG_FUNCTION) m.longFunctions.push({ name: functionName(node), start, lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return m;
}

const args = process.argv.slice(2);
const listFunctions = args.includes("--functions");
const dirs = args.filter((a) => !a.startsWith("--"));
const root = process.cwd();
const files = (dirs.length > 0 ? dirs : ["src"]).flatMap((d) => (d.endsWith(".ts") ? [resolve(d)] : walk(resolve(d))));
const all = files.map((f) => measure(f, root));

const pad = (s: string | number, n: number) => String(s).padStart(n);
const width = Math.max(4, ...all.map((m) => m.file.length));
console.log(`${"file".padEnd(width)} ${pad("lines", 6)} ${pad("!", 4)} ${pad("as-unknown-as", 13)} ${pad(`fn>${LONG_FUNCTION}`, 6)}`);
for (const m of all) {
  if (m.nonNull === 0 && m.unknownCasts === 0 && m.longFunctions.length === 0 && m.lines <= LONG_FILE) continue;
  const long = m.lines > LONG_FILE ? "*" : " ";
  console.log(`${m.file.padEnd(width)} ${pad(m.lines, 5)}${long} ${pad(m.nonNull, 4)} ${pad(m.unknownCasts, 13)} ${pad(m.longFunctions.length, 6)}`);
  if (listFunctions) for (const f of m.longFunctions) console.log(`  ${f.name} (line ${f.start}, ${f.lines} lines)`);
}
const sum = (f: (m: FileMetrics) => number) => all.reduce((s, m) => s + f(m), 0);
console.log(
  `total: ${all.length} files, ${all.filter((m) => m.lines > LONG_FILE).length} over ${LONG_FILE} lines (*), ` +
    `${sum((m) => m.nonNull)} non-null assertions, ${sum((m) => m.unknownCasts)} \`as unknown as\`, ` +
    `${sum((m) => m.longFunctions.length)} functions over ${LONG_FUNCTION} lines`,
);
