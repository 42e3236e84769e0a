/* --json: curl's shortcut for --data-binary with JSON's Content-Type and
 * Accept (set in request.c); its pieces are joined as they are. */
#include <errno.h>
#include <string.h>

#include "cli.h"

int cli_json_add(cli_body *body, const char *arg) {
  if (arg[0] != '@') {
    cli_body_add_mem(body, arg, strlen(arg));
    return 0;
  }
  cli_buf b = {0};
  if (cli_read_file(arg + 1, &b) != 0) /* curl 7.88 goes on with what it has */
    cli_warn("Couldn't read data from file \"%s\", this makes an empty POST.", arg + 1);
  else
    cli_body_add_mem(body, b.data ? b.data : "", b.len);
  cli_buf_free(&b);
  return 0;
}
