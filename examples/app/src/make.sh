#!/bin/sh
# "Compiles" the example: a program that prints its greeting and what it was built from.
count=$(ls *.txt | wc -l)
printf '#!/bin/sh\n'
printf 'echo "$(cat "$GREETING_FILE") (built from %s source files)"\n' "$count"
