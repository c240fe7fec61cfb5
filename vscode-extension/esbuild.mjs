// Bundles src/extension.ts and its dependencies into one CommonJS file, dist/extension.js.
// `--production` minifies and drops the source map (what the .vsix ships); `--tests` bundles
// the node:test unit tests (src/test/*.test.ts, no VS Code API) into out/test/.
import * as esbuild from "esbuild";
import * as fs from "node:fs";

const production = process.argv.includes("--production");
const common = { bundle: true, format: "cjs", platform: "node", target: "node20", external: ["vscode"], logLevel: "warning" };

if (process.argv.includes("--tests")) {
  const tests = fs.readdirSync("src/test").filter((f) => f.endsWith(".test.ts")).map((f) => `src/test/${f}`);
  await esbuild.build({ ...common, entryPoints: tests, outdir: "out/test", sourcemap: true });
} else {
  await esbuild.build({
    ...common,
    entryPoints: ["src/extension.ts"],
    outfile: "dist/extension.js",
    minify: production,
    sourcemap: !production,
    sourcesContent: false,
  });
}
