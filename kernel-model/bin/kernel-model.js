#!/usr/bin/env node
// kernel-model.js: the `kernel-model` command (npx kernel-model ...), a committed shim.
// npm links a package's bin only if the file exists at install time; dist/ is built later
// (npm run build), so the link points here and this file loads the built CLI when it runs.
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const cli = path.join(__dirname, "..", "dist", "cli.js");
if (!fs.existsSync(cli)) {
  process.stderr.write("kernel-model: not built yet: run `npm run build` (or `npm run book`) in the repository first\n");
  process.exit(2);
}
process.exitCode = require(cli).main(process.argv.slice(2));
