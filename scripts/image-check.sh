#!/usr/bin/env bash
# Builds Nurture the way the Dockerfile does, without Docker (CI has none), and checks that the
# runtime stage works with production dependencies only:
#   build stage:   package files + tsconfigs + scripts/prepare.mjs + src, `npm ci` (its `prepare` compiles to dist/)
#   runtime stage: package files, `npm ci --omit=dev --ignore-scripts`, dist/, schema/, examples/
# then: nothing in dist/ imports a devDependency, every command loads, `nurture start` answers
# /healthz and /metrics, and stops cleanly on SIGTERM.
# Needs Redis (REDIS_URL, default redis://127.0.0.1:6379); the store is the embedded one.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/nurture-image-XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
say() { echo "image-check: $*"; }

say "build stage in $work/build"
mkdir -p "$work/build"
cp "$repo/package.json" "$repo/package-lock.json" "$repo/tsconfig.json" "$repo/tsconfig.build.json" "$work/build/"
cp -R "$repo/src" "$work/build/src"
mkdir -p "$work/build/scripts" && cp "$repo/scripts/prepare.mjs" "$work/build/scripts/"
(cd "$work/build" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
test -f "$work/build/dist/cli/main.js" || { say "npm ci did not build dist/ (the prepare script)"; exit 1; }

say "runtime stage in $work/runtime (production dependencies only)"
mkdir -p "$work/runtime"
cp "$repo/package.json" "$repo/package-lock.json" "$work/runtime/"
(cd "$work/runtime" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
cp -R "$work/build/dist" "$work/runtime/dist"
cp -R "$repo/schema" "$repo/examples" "$work/runtime/"
cd "$work/runtime"

say "no devDependency is imported by dist/"
node --input-type=module -e '
  import { readFileSync, readdirSync } from "node:fs";
  import path from "node:path";
  const dev = Object.keys(JSON.parse(readFileSync("package.json", "utf8")).devDependencies ?? {});
  const bad = [];
  for (const f of readdirSync("dist", { recursive: true })) {
    if (!String(f).endsWith(".js")) continue;
    const text = readFileSync(path.join("dist", String(f)), "utf8");
    for (const m of text.matchAll(/(?:from\s*|import\s*\(\s*|require\s*\(\s*)["\x27]([^"\x27]+)["\x27]/g)) {
      const spec = m[1];
      const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
      if (dev.includes(name)) bad.push(`dist/${f}: imports ${spec}`);
    }
  }
  if (bad.length) { console.error(bad.join("\n")); process.exit(1); }
'
# (typescript may be there: valibot, under @bull-board/api, names it as an optional peer, and npm
# installs an optional peer that is also a devDependency. Nothing loads it.)
for dev in tsx vitest fast-check; do
  test ! -e "node_modules/$dev" || { say "$dev is in the runtime tree"; exit 1; }
done
node dist/cli/main.js --help >/dev/null

port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export NURTURE_HTTP_HOST=127.0.0.1 NURTURE_HTTP_PORT="$port" NURTURE_DATA_DIR="$work/data" NODE_ENV=production
export NURTURE_QUEUE_PREFIX="imgcheck$$" NURTURE_SECRET="$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')" NURTURE_LOG_FORMAT=json
unset DATABASE_URL
say "starting nurture start on port $port"
node dist/cli/main.js start --sequences examples/sequences --templates examples/templates >"$work/engine.log" 2>&1 &
pid=$!
ok=""
for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null | grep -q '"ok"'; then ok=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$ok" ]; then say "/healthz did not answer"; cat "$work/engine.log"; exit 1; fi
metrics="$(curl -fsS "http://127.0.0.1:$port/metrics")"
grep -q '^# TYPE nurture_events_total counter' <<<"$metrics" || { say "/metrics has no nurture_events_total"; exit 1; }
say "/healthz and /metrics answer; stopping with SIGTERM"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
redis-cli -u "$REDIS_URL" --scan --pattern "imgcheck$$:*" 2>/dev/null | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
if [ "$status" -ne 0 ]; then say "nurture start exited $status after SIGTERM"; cat "$work/engine.log"; exit 1; fi
say "ok"
