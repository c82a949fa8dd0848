#!/usr/bin/env bash
# Translate the newest days of a daily-arXiv-ai-enhanced site's data branch with digest-pipeline
# and publish their English data files, assets/file-list.txt and feed.xml back to that branch.
# For a server: examples/cron/digest-pipeline.cron or examples/systemd/ run it every night, after
# the fork's own nightly job (which overwrites file-list.txt with that night's files only).
# Days already done come from the pipeline cache and publish rewrites only changed files, so
# running it twice costs nothing and commits nothing.
#
# Environment:
#   SITE_DATA        a clone of the site's data branch (git clone --branch data URL) [required]
#   PIPELINE_CONFIG  digest-pipeline's config.yaml, its prompts/ folder beside it [required]
#   OUT              output root [default: outputs]
#   CACHE_DIR        pipeline cache [default: .cache/digest-pipeline]
#   DAYS             how many of the newest days to (re)do [default: 2]
#   LANGUAGE         the fork's summary language, as in its file names [default: Chinese]
#   PROVIDER         digest-pipeline provider [default: openai]
#   MODEL_NAME       model for every stage [default: the config's]
#   OPENAI_API_KEY, OPENAI_BASE_URL   as the fork's own workflow uses them
#   DIGEST_PIPELINE  the command [default: digest-pipeline]
#   PUSH             1: commit and push when something changed; 0: leave the checkout [default: 1]
set -euo pipefail

: "${SITE_DATA:?set SITE_DATA to a clone of the data branch of the site}"
: "${PIPELINE_CONFIG:?set PIPELINE_CONFIG to the config.yaml of digest-pipeline}"
OUT=${OUT:-outputs}
CACHE_DIR=${CACHE_DIR:-.cache/digest-pipeline}
DAYS=${DAYS:-2}
LANGUAGE=${LANGUAGE:-Chinese}
PROVIDER=${PROVIDER:-openai}
DIGEST_PIPELINE=${DIGEST_PIPELINE:-digest-pipeline}
PUSH=${PUSH:-1}

if [ "$PUSH" = 1 ]; then
  git -C "$SITE_DATA" pull --ff-only -q
fi
mapfile -t files < <(find "$SITE_DATA/data" -maxdepth 1 -name "????-??-??_AI_enhanced_${LANGUAGE}.jsonl" \
                     | sort | tail -n "$DAYS")
if [ "${#files[@]}" -eq 0 ]; then
  echo "no ????-??-??_AI_enhanced_${LANGUAGE}.jsonl in $SITE_DATA/data" >&2
  exit 2
fi

args=(--config "$PIPELINE_CONFIG" --provider "$PROVIDER" --out "$OUT" --cache-dir "$CACHE_DIR")
if [ -n "${MODEL_NAME:-}" ]; then
  args+=(--model "$MODEL_NAME")
fi
if [ "$PROVIDER" = openai ] && [ -n "${OPENAI_BASE_URL:-}" ]; then
  args+=(--base-url "$OPENAI_BASE_URL")
fi

outputs=()
for file in "${files[@]}"; do
  status=0
  "$DIGEST_PIPELINE" run "$file" "${args[@]}" || status=$?
  # 1: every paper written, some failed validation (empty fields: the site shows the abstract).
  if [ "$status" -gt 1 ]; then
    exit "$status"
  fi
  outputs+=("$OUT/$(basename "$file" .jsonl)")
done

"$DIGEST_PIPELINE" publish "${outputs[@]}" --data-dir "$SITE_DATA" --config "$PIPELINE_CONFIG"

if [ "$PUSH" = 1 ]; then
  cd "$SITE_DATA"
  git add data/*_AI_enhanced_English.jsonl assets/file-list.txt feed.xml
  if git diff --cached --quiet; then
    echo "nothing changed"
    exit 0
  fi
  git -c user.name="${GIT_NAME:-digest-pipeline}" -c user.email="${GIT_EMAIL:-digest-pipeline@localhost}" \
      commit -q -m "English data for $(basename "${files[-1]}" | cut -c1-10) (digest-pipeline)"
  git push -q origin HEAD:data
fi
