// Copies the front-end packages' built files from node_modules into static/vendor/, which
// Django serves as static files (whitenoise in production). The copy is not committed:
// `npm ci` (run by `make run` and `make test`) makes it from the pinned lock file.
import { copyFileSync, mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const target = join(root, "static", "vendor");
const files = [
  // Source maps too: the production static storage rewrites their references and fails on
  // a reference to a missing file.
  "bootstrap/dist/css/bootstrap.min.css",
  "bootstrap/dist/css/bootstrap.min.css.map",
  "bootstrap/dist/js/bootstrap.bundle.min.js",
  "bootstrap/dist/js/bootstrap.bundle.min.js.map",
  "htmx.org/dist/htmx.min.js",
];

mkdirSync(target, { recursive: true });
for (const file of files) {
  copyFileSync(join(root, "node_modules", file), join(target, basename(file)));
}
console.log(`Copied ${files.length} front-end files into static/vendor/`);
