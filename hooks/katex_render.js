// Render TeX to HTML with KaTeX at build time, one JSON request per line on stdin:
//   {"tex": "...", "display": true}  ->  {"html": "..."}  or  {"error": "..."}
// The reader's browser then needs only katex.min.css and the fonts it uses: no JavaScript.
const katex = require(process.argv[2]);
const readline = require("readline");
const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on("line", (line) => {
  const req = JSON.parse(line);
  let res;
  try {
    res = { html: katex.renderToString(req.tex, { displayMode: req.display, throwOnError: true, output: "html" }) };
  } catch (e) {
    res = { error: String(e.message || e) };
  }
  process.stdout.write(JSON.stringify(res) + "\n");
});
