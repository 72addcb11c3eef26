/**
 * The Jupyter toolchain the tasks stand on: finding (and installing) nbconvert + nbclient
 * and the Deno kernelspec, and executing notebooks through them.
 *
 * Used by `scripts/setup.ts`, `scripts/report.ts`, `scripts/check.ts` and the notebook test.
 */
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const NOTEBOOK_DIR = join(ROOT, "notebooks");
export const DEBIAN_PACKAGES = [
  "jupyter-nbconvert",
  "python3-nbclient",
  "jupyter-client",
  "python3-ipykernel",
];
const PIP_PACKAGES = ["nbconvert", "nbclient", "jupyter_client", "ipykernel"];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command, capturing its output; a missing program gives code 127. */
export async function run(
  cmd: string,
  args: string[],
  options: Deno.CommandOptions = {},
): Promise<RunResult> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...options }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { code: 127, stdout: "", stderr: `${cmd}: not found` };
    throw e;
  }
}

/** Runs a command with its output passed through; throws with `what` when it fails. */
export async function runLoud(cmd: string, args: string[], what: string): Promise<void> {
  const st = await new Deno.Command(cmd, { args, stdout: "inherit", stderr: "inherit" }).output();
  if (st.code !== 0) throw new Error(`${what} failed (exit ${st.code}): ${cmd} ${args.join(" ")}`);
}

const log = (msg: string) => console.error(`[setup] ${msg}`);

/** True when `jupyter nbconvert` can execute notebooks (nbconvert with nbclient). */
export async function hasNbconvert(): Promise<boolean> {
  const v = await run("jupyter", ["nbconvert", "--version"]);
  if (v.code !== 0) return false;
  const py = await jupyterPython();
  return (await run(py, ["-c", "import nbclient, jupyter_client"])).code === 0;
}

/** The Python interpreter that runs `jupyter` (its shebang), for import checks. */
async function jupyterPython(): Promise<string> {
  const which = await run("sh", ["-c", "command -v jupyter"]);
  const path = which.stdout.trim();
  if (path) {
    const first = (await Deno.readTextFile(path)).split("\n", 1)[0];
    const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
    if (m) return m[1].endsWith("/env") && m[2] ? m[2] : m[1];
  }
  return "python3";
}

/** Installs nbconvert + nbclient: Debian packages when root, else a user-level pip install, else explains. */
export async function ensureNbconvert(): Promise<void> {
  if (await hasNbconvert()) return;
  const aptCmd = `apt-get install -y --no-install-recommends ${DEBIAN_PACKAGES.join(" ")}`;
  const isRoot = Deno.uid() === 0;
  if (isRoot && (await run("sh", ["-c", "command -v apt-get"])).code === 0) {
    log(
      `Jupyter (nbconvert + nbclient) is missing; installing Debian packages: ${DEBIAN_PACKAGES.join(", ")}`,
    );
    await runLoud("apt-get", ["update", "-qq"], "apt-get update");
    await runLoud("sh", ["-c", `DEBIAN_FRONTEND=noninteractive ${aptCmd} -qq`], "apt-get install");
  } else if ((await run("python3", ["-m", "pip", "--version"])).code === 0) {
    log(`Jupyter (nbconvert + nbclient) is missing; installing with pip --user: ${PIP_PACKAGES.join(" ")}`);
    await runLoud("python3", ["-m", "pip", "install", "--user", ...PIP_PACKAGES], "pip install --user");
  }
  if (!(await hasNbconvert())) {
    throw new Error(
      "Jupyter's nbconvert + nbclient are needed to execute notebooks and could not be installed.\n" +
        `Install them with:  sudo ${aptCmd}\n   or:  python3 -m pip install --user ${PIP_PACKAGES.join(" ")}`,
    );
  }
}

/** The installed "deno" kernelspec's argv, or null. */
export async function denoKernelArgv(): Promise<string[] | null> {
  const r = await run("jupyter", ["kernelspec", "list", "--json"]);
  if (r.code !== 0) return null;
  const specs = JSON.parse(r.stdout).kernelspecs as Record<string, { spec: { argv: string[] } }>;
  return specs.deno?.spec.argv ?? null;
}

/** Installs the Deno kernelspec unless one already points at this very Deno binary. */
export async function ensureDenoKernel(): Promise<void> {
  const argv = await denoKernelArgv();
  const real = (p: string) => Deno.realPath(p).catch(() => null);
  if (argv && (await real(argv[0])) === (await real(Deno.execPath()))) return;
  log(
    argv
      ? `the Deno kernelspec points at ${
        argv[0]
      }; re-installing it for ${Deno.execPath()} (Deno ${Deno.version.deno})`
      : `installing the Deno Jupyter kernelspec for ${Deno.execPath()} (Deno ${Deno.version.deno})`,
  );
  await runLoud(Deno.execPath(), ["jupyter", "--install", "--force"], "deno jupyter --install");
  const after = await denoKernelArgv();
  if (!after) throw new Error("the Deno kernelspec is still missing; run: deno jupyter --install");
}

/** Installs the npm dependencies of deno.json into node_modules (plotly.js is read from there). */
export async function ensureNodeModules(): Promise<void> {
  await runLoud(Deno.execPath(), ["install", "--quiet"], "deno install");
}

/** The notebooks to run: the given paths, or every notebooks/*.ipynb in order. */
export function listNotebooks(args: string[] = []): string[] {
  if (args.length > 0) {
    return args.map((a) => {
      const p = a.startsWith("/") ? a : join(Deno.cwd(), a);
      try {
        if (!Deno.statSync(p).isFile || !p.endsWith(".ipynb")) throw new Error();
      } catch {
        throw new Error(`not a notebook file: ${a} (expected a path to an .ipynb file)`);
      }
      return p;
    });
  }
  return [...Deno.readDirSync(NOTEBOOK_DIR)].filter((e) => e.isFile && e.name.endsWith(".ipynb"))
    .map((e) => join(NOTEBOOK_DIR, e.name)).sort();
}

/**
 * Executes a notebook with the Deno kernel through nbconvert and writes `outputDir/<name>.<ext>`
 * (`to` = "html" for a report, "notebook" for the executed .ipynb). Throws with nbconvert's
 * message tail when a cell raises.
 */
export async function executeNotebook(
  notebook: string,
  options: { to: "html" | "notebook"; outputDir: string; quick?: boolean; timeoutS?: number },
): Promise<string> {
  const name = basename(notebook, ".ipynb");
  const ext = options.to === "html" ? "html" : "ipynb";
  const env: Record<string, string> = { NO_COLOR: "1" };
  if (options.quick !== undefined) env.NOTEBOOK_QUICK = options.quick ? "1" : "0";
  const r = await run("jupyter", [
    "nbconvert",
    "--to",
    options.to,
    "--execute",
    "--ExecutePreprocessor.kernel_name=deno",
    `--ExecutePreprocessor.timeout=${options.timeoutS ?? 1800}`,
    "--output-dir",
    options.outputDir,
    "--output",
    `${name}.${ext}`,
    notebook,
  ], { env, cwd: dirname(notebook) });
  if (r.code !== 0) {
    throw new Error(
      `executing ${name}.ipynb failed (exit ${r.code}):\n${r.stderr.split("\n").slice(-40).join("\n")}`,
    );
  }
  return join(options.outputDir, `${name}.${ext}`);
}
