#!/bin/bash
# Records (and transcripts) of every scenario and 2000 random scripts: the binary before the
# optimisations against the current one.
# usage: tools/identical-records.sh OLD_EXITMM NEW_EXITMM RANDOM_SCRIPTS_DIR
OLD=$1; NEW=$2; RAND=$3
same=0; diff=0; both_fail=0
for f in "$(dirname "$0")"/../tests/scenarios/*.mm "$RAND"/*.mm; do
  a=$($OLD run --records "$f" 2>&1); b=$($NEW run --records "$f" 2>&1)
  t1=$($OLD run "$f" 2>&1); t2=$($NEW run "$f" 2>&1)
  if [ "$a" == "$b" ] && [ "$t1" == "$t2" ]; then same=$((same+1)); else diff=$((diff+1)); echo "DIFF $f"; fi
done
echo "identical: $same, different: $diff"
