#!/usr/bin/env bash
# Publish an example app (a folder of examples/) as the branch `main` of a bare git repository,
# the way its authors would push it: a work tree in WORK mirrors SRC, a commit is made only when
# something changed (so an unchanged app keeps its commit and a redeploy changes nothing).
# Usage: testbed/example-repo.sh SRC WORK BARE
set -euo pipefail

src=${1:?usage: example-repo.sh SRC WORK BARE}
work=${2:?usage: example-repo.sh SRC WORK BARE}
bare=${3:?usage: example-repo.sh SRC WORK BARE}

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="Stagecraft demo" GIT_AUTHOR_EMAIL="demo@stagecraft.invalid"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"

mkdir -p "$work" "$bare"
src=$(realpath "$src") work=$(realpath "$work") bare=$(realpath "$bare")
[ -f "$bare/HEAD" ] || git init --quiet --bare --initial-branch=main "$bare"
[ -d "$work/.git" ] || git init --quiet --initial-branch=main "$work"
# The work tree becomes an exact copy of SRC (its .gitignore applies), .git aside.
find "$work" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
cp -a "$src/." "$work/"
git -C "$work" add --all
if ! git -C "$work" diff --cached --quiet 2>/dev/null || ! git -C "$work" rev-parse --verify --quiet HEAD >/dev/null; then
  git -C "$work" commit --quiet -m "$(basename "$src") example as of $(date -u +%Y-%m-%dT%H:%M:%SZ)"
fi
git -C "$work" push --quiet --force "$bare" main
echo "example-repo: $bare main = $(git -C "$work" rev-parse --short HEAD)"
