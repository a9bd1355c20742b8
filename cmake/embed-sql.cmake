# Embed a schema file (src/store/schema/*.sql) as a C array of migrations:
#   cmake -DIN=<file.sql> -DOUT=<file.c> -DNAME=<symbol> -P embed-sql.cmake
# defines `const char *const NAME[]` (migration i+1 at index i) and
# `const size_t NAME_n`.
#
# The file's form: a line "-- migration N" starts migration N (1, 2, ... in
# order); other lines beginning with "--" are comments and blank lines are
# left out; every other line is kept as it is and joined to the next
# without a line break, so a continued statement starts its next line with
# spaces.  The text a database runs (and SQLite keeps in sqlite_master) is
# thus the text of the lines, byte for byte.
cmake_minimum_required(VERSION 3.18)
file(READ "${IN}" sql)
string(REPLACE "\r" "" sql "${sql}")
string(REPLACE "\\" "\\\\" sql "${sql}")
string(REPLACE "\"" "\\\"" sql "${sql}")
set(sql "\n${sql}\n")
# the migrations' starts, then comments and blank lines
string(REGEX REPLACE "\n--[ \t]*migration[ \t]+[0-9]+[^\n]*" "\n@MIGRATION@" sql "${sql}")
string(REGEX REPLACE "\n[ \t]*--[^\n]*" "\n" sql "${sql}")
while(sql MATCHES "\n[ \t]*\n")
  string(REGEX REPLACE "\n[ \t]*\n" "\n" sql "${sql}")
endwhile()
string(REGEX REPLACE "^\n@MIGRATION@\n" "" sql "${sql}")
if(sql MATCHES "^\n" OR sql MATCHES "^@MIGRATION@")
  message(FATAL_ERROR "${IN}: the first line that is not a comment must be \"-- migration 1\"")
endif()
string(REGEX REPLACE "\n$" "" sql "${sql}")
# each line a C string piece; each migration start closes the previous element
string(REPLACE "\n@MIGRATION@\n" "@NEXT@" sql "${sql}")
string(REPLACE "\n" "\"\n\t\"" sql "${sql}")
string(REPLACE "@NEXT@" "\",\n\n\t\"" sql "${sql}")
file(WRITE "${OUT}.tmp"
  "/* Generated from ${IN} by cmake/embed-sql.cmake: do not edit. */\n"
  "#include <stddef.h>\n\n"
  "extern const char *const ${NAME}[];\n"
  "extern const size_t ${NAME}_n;\n\n"
  "const char *const ${NAME}[] = {\n\t\"${sql}\",\n};\n\n"
  "const size_t ${NAME}_n = sizeof(${NAME}) / sizeof(${NAME}[0]);\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
