#!/usr/bin/env bash
# One GPU lease, prepared to fit in a single device call: the model speed figures
# (benchmarks/gpu_models.py), then the paper's video models fitted on the student pack
# (scripts/train_students.py), the runs side by side, each stopping after BUDGET_S seconds.
#
#   scripts/gpu_session.sh PACK OUT [BUDGET_S]     (EXTRA="--epoch-size 64" to try it on a CPU;
#       BENCH=0 skips the figures; RUNS="c3d_convlstm_fer:scratch ..." names the runs)
#
# OUT gets log.txt, gpu_models.json and each run's state dict and report; then, here:
#   python scripts/train_default.py --stage students --fitted OUT
set -u
pack=$1 out=$2 budget=${3:-400}
export PYTHONPATH=. PYTHONUNBUFFERED=1
python=${PYTHON:-python3}
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || echo "no nvidia-smi"; } > "$out/log.txt" 2>&1
[ "${BENCH:-1}" = 0 ] || timeout 150 "$python" -m benchmarks.gpu_models --seconds 1 --json "$out/gpu_models.json" >> "$out/log.txt" 2>&1
# From scratch only: the shipped weights (release 4) trained on person bucket 3, which release 6's
# recipe tunes on (`train_default.py --student-tune-buckets`), so a warm start would tune on seen people.
read -r -a runs <<< "${RUNS:-c3d_convlstm_fer:scratch c3d_convlstm:scratch}"
for run in "${runs[@]}"; do
    IFS=: read -r model start <<< "$run"
    # shellcheck disable=SC2086  # EXTRA is a list of options
    timeout $((budget + 120)) "$python" scripts/train_students.py "$pack" "$model" --start "$start" --out "$out" \
        --budget-s "$budget" --batch-size 64 ${EXTRA:-} > "/tmp/$model-$start.log" 2>&1 &
done
wait
for run in "${runs[@]}"; do
    IFS=: read -r model start <<< "$run"
    echo "== $model-$start"
    tr '\r' '\n' < "/tmp/$model-$start.log" | grep -v '^\s*$' | tail -n 6
done >> "$out/log.txt"
