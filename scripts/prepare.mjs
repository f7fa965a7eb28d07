// npm runs `prepare` after `npm install` and `npm ci` (and for git installs): it compiles src/ to
// dist/. Where TypeScript, a devDependency, is not installed there is nothing to compile with:
// `npm ci --dry-run` (which installs nothing but still runs this) or an install without dev
// dependencies. Then it says so and leaves dist/ as it is, instead of failing the install with
// "tsc: not found"; scripts/image-check.sh checks that a real `npm ci` did build dist/.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  console.error('prepare: TypeScript is not installed here, so dist/ was not built (run `npm run build` after a full `npm ci`)');
  process.exit(0);
}
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
