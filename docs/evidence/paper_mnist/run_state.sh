#!/usr/bin/env bash
# The paper_mnist run (issue 39, ≈ 13-20 h on 2 cores) carried across working sessions whose machines
# are not kept. Its state lives here, in the repository: the finished models (models/), the epoch
# checkpoints of the unfinished ones (checkpoints/) and each session's logs (sessions/). A session
# restores it into a clone at the run's commit (RUN_COMMIT: every model trains with the same code, so
# a checkpoint's code fingerprint matches and training resumes from it), runs on, and stores it back.
#
#   docs/evidence/paper_mnist/run_state.sh start RUN   # clone at RUN_COMMIT into RUN (if absent), install,
#                                                      # build the dataset artifact, copy the stored state in
#   setsid nohup docs/evidence/paper_mnist/run_state.sh run RUN > RUN/run-$(date +%Y%m%d-%H%M).log 2>&1 &
#                                                      # train and evaluate (resumes; see run below)
#   docs/evidence/paper_mnist/run_state.sh save RUN    # store RUN's finished models, checkpoints and logs here
#   docs/evidence/paper_mnist/run_state.sh publish RUN # when RUN's evaluation is done: its summary, every
#                                                      # table (Markdown) and figure (SVG) here; RUN may be a
#                                                      # clone of a later commit that evaluated the stored models
#
# Nothing is overwritten silently: start copies without clobbering what RUN already has, and save refuses
# to replace a stored finished model by a different file. Only a stored checkpoint is replaced, by the
# same model's later epoch (git keeps the earlier one).
set -euo pipefail
STORE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(git -C "$STORE" rev-parse --show-toplevel)"
COMMIT="$(cat "$STORE/RUN_COMMIT")"
PRESET=presets/paper_mnist.yaml
OUT=results/paper_mnist              # the preset's run_name

die() { echo "run_state.sh: $*" >&2; exit 2; }
[ $# -eq 2 ] || die "usage: run_state.sh start|run|save|publish RUN (RUN: the run's clone, e.g. /work/runs/main)"
CMD="$1"; RUN="$2"

at_commit() {
  [ -d "$RUN/.git" ] || die "$RUN is not a clone (run 'start $RUN' first)"
  local head; head="$(git -C "$RUN" rev-parse HEAD)"
  [ "$head" = "$COMMIT" ] || die "$RUN is at $head, expected the run's commit $COMMIT (RUN_COMMIT)"
}

case "$CMD" in
start)
  if [ ! -e "$RUN" ]; then
    git clone -q "$REPO" "$RUN"
    git -C "$RUN" checkout -q --detach "$COMMIT"
  fi
  at_commit
  # the data mirror beside the clone, as for every run (config data.mirror: ../shared/data)
  [ -e "$RUN/../shared" ] || [ ! -d "$REPO/../shared" ] || ln -s "$(cd "$REPO/../shared" && pwd)" "$RUN/../shared"
  cd "$RUN"
  [ -x .venv/bin/snakemake ] || { python3 -m venv .venv && .venv/bin/pip install -q -r envs/requirements.txt -e .; }
  # the artifact first: copied models must be newer than it, or Snakemake retrains them (it is
  # byte-identical on every build from the official files: the checkpoints' data fingerprint matches)
  .venv/bin/snakemake --cores 2 -q --configfile "$PRESET" -- "$OUT/data/mnist.pt"
  mkdir -p "$OUT"
  for part in models checkpoints; do
    [ -d "$STORE/$part" ] && cp -rn "$STORE/$part" "$OUT/"
  done
  echo "restored into $RUN/$OUT: $(find "$OUT/models" -name model.pt 2>/dev/null | wc -l) finished models," \
       "$(find "$OUT/checkpoints" -name 'seed*.pt' 2>/dev/null | wc -l) checkpoints"
  ;;
run)
  at_commit
  cd "$RUN"
  model() { echo "$OUT/models/mnist/$1/seed$2/model.pt"; }
  # the unfinished models first (their checkpoints hold hours of work), then the clean model (the regime
  # indicators), both with Snakemake's --prioritize; stage 1 trains the models of the main claims
  # (clean, gn, sgr_sign), stage 2 the rest and every evaluation
  busy=$(find "$OUT/checkpoints" -name 'seed*.pt' 2>/dev/null |
         sed -E "s#.*/checkpoints/mnist/([^/]+)/seed([0-9]+)\.pt#$OUT/models/mnist/\1/seed\2/model.pt#")
  # other work first: nice alone does not do it, since the kernel shares the CPU between sessions
  # (autogroups, one per setsid) before it looks at nice; the run's session is set to nice 19 too
  [ -w /proc/self/autogroup ] && echo 19 > /proc/self/autogroup 2>/dev/null || true
  # shellcheck disable=SC2086  # one path a word
  SMK=(nice -n 19 .venv/bin/snakemake --cores 2 --configfile "$PRESET" --rerun-incomplete
       --prioritize $busy $(for s in 0 1 2; do model clean $s; done))
  "${SMK[@]}" -- $(for m in clean gn sgr_sign; do for s in 0 1 2; do model $m $s; done; done)
  "${SMK[@]}"
  ;;
save)
  at_commit
  R="$RUN/$OUT"
  stamp="$(date -u +%Y%m%d-%H%M)"
  n_models=0
  while IFS= read -r m; do
    rel="${m#"$R"/}"; dir="$(dirname "$rel")"
    for f in model.pt history.csv; do
      if [ -e "$STORE/$dir/$f" ]; then
        cmp -s "$R/$dir/$f" "$STORE/$dir/$f" || die "$STORE/$dir/$f differs from $R/$dir/$f: not replaced"
      else
        mkdir -p "$STORE/$dir" && cp "$R/$dir/$f" "$STORE/$dir/$f"
      fi
    done
    n_models=$((n_models + 1))
    # a finished model's checkpoint is gone from the run: drop the stored one too
    ck="$STORE/checkpoints/mnist/$(basename "$(dirname "$dir")")/$(basename "$dir").pt"
    rm -f "$ck"
  done < <(find "$R/models" -name model.pt 2>/dev/null | sort)
  n_ck=0
  while IFS= read -r c; do
    rel="${c#"$R"/}"
    mkdir -p "$STORE/$(dirname "$rel")" && cp "$c" "$STORE/$rel"
    n_ck=$((n_ck + 1))
  done < <(find "$R/checkpoints" -name 'seed*.pt' 2>/dev/null | sort)
  # this session's logs: the training logs (rewritten by each session's job) and the Snakemake logs
  S="$STORE/sessions/$stamp"
  mkdir -p "$S"
  [ -d "$R/logs/train" ] && cp -r "$R/logs/train" "$S/"
  cp "$RUN"/run-*.log "$S/" 2>/dev/null || true
  { echo "commit: $COMMIT"; echo "saved: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"; } > "$S/machine.txt"
  echo "stored in $STORE: $n_models finished models, $n_ck checkpoints, logs in sessions/$stamp"
  ;;
publish)
  # not tied to the run's commit: the tables may be made again at later code from the stored models
  R="$RUN/$OUT"
  [ -f "$R/summary.md" ] || die "$R/summary.md is missing: the run's evaluation has not finished"
  # the published tables are replaced as a whole (git keeps the earlier ones): each is derived from
  # the stored models, never an original
  rm -rf "$STORE/tables" "$STORE/comparison" "$STORE/figures"
  mkdir -p "$STORE/tables" "$STORE/comparison" "$STORE/figures"
  cp "$R/summary.md" "$STORE/"
  cp "$R"/tables/*.md "$STORE/tables/"
  cp "$R"/comparison/*.md "$STORE/comparison/" 2>/dev/null || true
  cp "$R"/figures/*.svg "$STORE/figures/"
  echo "published $RUN's summary, $(ls "$STORE/tables" | wc -l) tables, $(ls "$STORE/comparison" | wc -l)" \
       "paper comparisons and $(ls "$STORE/figures" | wc -l) figures in $STORE (at $(git -C "$RUN" rev-parse --short HEAD))"
  ;;
*)
  die "unknown command '$CMD': expected start, run, save or publish"
  ;;
esac
