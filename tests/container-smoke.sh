#!/usr/bin/env bash
# Builds the real container image with podman and runs it, as its non-root user, against a
# demo world: attachments mounted read-only, report written to a mounted folder. Checks that
# the image found what the demo planted. Needs root, podman, runc and debootstrap (see
# ../shared/notes/containers-here.md for why each adjustment below exists on these machines).
#
#   bash tests/container-smoke.sh            # from the repository root
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d /tmp/inspector-smoke-XXXX)
chmod 755 "$work"
python=${PYTHON:-python3}

for tool in podman runc debootstrap; do
    command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq podman runc debootstrap >/dev/null; break; }
done

# crun fails on this kernel's cgroup layout and on RLIMIT_NOFILE: runc, no default ulimits.
printf '[containers]\ndefault_ulimits = []\n' > "$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
podman=(podman --runtime /usr/sbin/runc)

base=${BASE_IMAGE:-localhost/debian-py:bookworm}
if ! "${podman[@]}" image exists "$base"; then
    echo "smoke: building the base image $base with debootstrap"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip bookworm "$work/rootfs" >/dev/null
    tar -C "$work/rootfs" -c . | "${podman[@]}" import - "$base" >/dev/null
    rm -rf "$work/rootfs"
fi

echo "smoke: building the image"
"${podman[@]}" build --network host --build-arg BASE="$base" \
    -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
    -t jira-attachment-inspector:smoke . >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }

echo "smoke: building a demo world"
"$python" -m inspector demo --dir "$work/demo" --attachments 500 --build-only >"$work/demo.out"
cat "$work/demo.out" | head -1
dsn=$(sed -n 's/^  export INSPECTOR_DB_DSN=//p' "$work/demo.out")
mkdir -p "$work/out"
chown 10001:0 "$work/out"

cleanup() {
    runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | tail -1)/pg_ctl" -D "$work/demo/pg/data" -m fast stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "smoke: running the image as its non-root user"
set +e
"${podman[@]}" run --rm --network host \
    -v "$work/demo/attachments:/attachments:ro" \
    -v "$work/out:/report" \
    -e INSPECTOR_DB_DSN="$dsn" \
    -e INSPECTOR_JIRA_URL=https://jira.example.com \
    -e INSPECTOR_JIRA_UID=2001 -e INSPECTOR_JIRA_GID=2001 \
    -e INSPECTOR_STATE_DB=/report/state.sqlite \
    jira-attachment-inspector:smoke >"$work/run.out" 2>"$work/run.err"
rc=$?
set -e
cat "$work/run.out"
[ "$rc" -eq 0 ] || { echo "smoke: the container exited $rc"; tail -20 "$work/run.err"; exit 1; }

"$python" - "$work" <<'PY'
import json, re, sys
from pathlib import Path
work = Path(sys.argv[1])
planted = re.search(r"planted: (\d+) missing, (\d+) permissions, (\d+) corrupted, (\d+) errors",
                    (work / "demo.out").read_text()).groups()
summary = json.loads((work / "out/summary.json").read_text())
found = tuple(str(summary[k]) for k in ("missing", "permissions", "corrupted", "errors"))
owner = {p.stat().st_uid for p in (work / "out").iterdir()}
assert found == planted, f"container found {found}, demo planted {planted}"
assert owner == {10001}, f"report files owned by {owner}, expected the image's user 10001"
print(f"smoke: OK: the image, as uid 10001 with the tree read-only, found {found} as planted")
PY

echo "smoke: restore's plan in the image (the demo tree as the backup, read-only)"
"${podman[@]}" run --rm --network host \
    -v "$work/demo/attachments:/attachments:ro" -v "$work/demo/attachments:/backup:ro" -v "$work/out:/report" \
    -e INSPECTOR_JIRA_UID=2001 -e INSPECTOR_JIRA_GID=2001 -e INSPECTOR_STATE_DB=/report/state.sqlite \
    jira-attachment-inspector:smoke restore --from /backup >"$work/restore.out" 2>"$work/restore.err" \
    || { echo "smoke: restore failed"; tail -20 "$work/restore.err"; exit 1; }
grep -q "plan only" "$work/restore.out" && test -s "$work/out/restore-plan.txt"
echo "smoke: OK: restore planned in the image ($(grep -c . "$work/out/restore-plan.txt") lines)"

echo "smoke: a Jira Cloud scan in the image, against the fake site on the host"
mkdir -p "$work/cloud" && chown 10001:0 "$work/cloud"
"$python" - "$work/cloud/site.env" <<'PY' &
import sys, time
from jiraworld.jiracloud import JiraCloud, build_site
site = build_site(issues=300)
with JiraCloud(site) as fake:
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(f"{fake.url} {fake.email} {fake.token} {len(site.attachments)}\n")
    import os; os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(600)
PY
site_pid=$!
for _ in $(seq 100); do [ -s "$work/cloud/site.env" ] && break; sleep 0.1; done
read -r url email token expected <"$work/cloud/site.env"
"${podman[@]}" run --rm --network host -v "$work/cloud:/report" \
    -e INSPECTOR_ATTACHMENTS_ROOT= -e INSPECTOR_JIRA_CLOUD_URL="$url" -e INSPECTOR_JIRA_EMAIL="$email" \
    -e INSPECTOR_JIRA_API_TOKEN="$token" -e INSPECTOR_STATE_DB=/report/state.sqlite \
    jira-attachment-inspector:smoke >"$work/cloud.out" 2>"$work/cloud.err" \
    || { kill $site_pid; echo "smoke: the Cloud scan failed"; tail -20 "$work/cloud.err"; exit 1; }
kill $site_pid
"$python" -c "import json,sys; s=json.load(open('$work/cloud/summary.json')); \
assert s['total_attachments'] == int(sys.argv[1]), s; print('smoke: OK: the image scanned the Cloud site:', s['total_attachments'], 'attachments')" "$expected"
rm -rf "$work"
