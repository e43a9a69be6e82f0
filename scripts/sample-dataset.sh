#!/usr/bin/env bash
# Writes a generated CSV for the built-in trainer to stdout: five numeric features and a label.
#   scripts/sample-dataset.sh [binary|regression] [rows] [seed] > data.csv
# binary: label = 1 when 2*x1 - x2 + 0.5*x3 plus a little noise is positive (separable: accuracy > 0.9 expected)
# regression: label = 3*x1 - 2*x2 + x4 + noise
set -euo pipefail
kind="${1:-binary}"
rows="${2:-5000}"
seed="${3:-42}"
[[ "$kind" == binary || "$kind" == regression ]] || { echo "kind is binary or regression" >&2; exit 2; }
[[ "$rows" =~ ^[0-9]+$ && "$seed" =~ ^[0-9]+$ ]] || { echo "rows and seed are whole numbers" >&2; exit 2; }
awk -v rows="$rows" -v seed="$seed" -v kind="$kind" 'BEGIN {
  srand(seed);
  print "x1,x2,x3,x4,x5,label";
  for (r = 0; r < rows; r++) {
    for (i = 1; i <= 5; i++) {  # Box-Muller: standard normal features
      x[i] = sqrt(-2 * log(1 - rand())) * cos(6.283185307 * rand());
    }
    noise = 0.3 * sqrt(-2 * log(1 - rand())) * cos(6.283185307 * rand());
    if (kind == "binary") label = (2 * x[1] - x[2] + 0.5 * x[3] + noise > 0) ? 1 : 0;
    else label = sprintf("%.5f", 3 * x[1] - 2 * x[2] + x[4] + noise);
    printf "%.5f,%.5f,%.5f,%.5f,%.5f,%s\n", x[1], x[2], x[3], x[4], x[5], label;
  }
}'
