// `npm run build` (run by `make run` and `make test`): Bootstrap 5.3 with Muamalat's theme,
// an LTR file and its RTL mirror (RTLCSS), into frontend/static/frontend/build/ (not in git).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";
import rtlcss from "rtlcss";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "static", "frontend", "build");
mkdirSync(out, { recursive: true });

const ltr = sass.compile(join(here, "assets", "muamalat.scss"), {
  loadPaths: [join(here, "..", "node_modules")],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import", "global-builtin", "color-functions"],
}).css;
writeFileSync(join(out, "muamalat.css"), ltr);
writeFileSync(join(out, "muamalat.rtl.css"), rtlcss.process(ltr));
console.log(`[muamalat] built ${out}/muamalat.css (${ltr.length} bytes) and its RTL mirror`);
