/* The error table: every code has a distinct value, a name, a message and a
 * curl exit code; primary codes are the negated curl code. */
#include <string.h>

#include "flurry.h"
#include "test.h"

static const struct {
  int value, curl;
  const char *name;
} table[] = {
#define ROW(name, val, curl, msg) {val, curl, "FL_E" #name},
    FL_ERRNO_MAP(ROW)
#undef ROW
};

int main(void) {
  FL_TEST_BEGIN();
  size_t n = sizeof table / sizeof table[0];
  CHECK(n >= 30);
  for (size_t i = 0; i < n; i++) {
    CHECK(table[i].value < 0);
    CHECK_EQ_STR(fl_err_name(table[i].value), table[i].name);
    CHECK(strlen(fl_strerror(table[i].value)) > 5);
    CHECK_EQ_INT(fl_err_curl_code(table[i].value), table[i].curl);
    if (table[i].value > -1000) CHECK_EQ_INT(-table[i].value, table[i].curl);
    for (size_t j = i + 1; j < n; j++) CHECK(table[i].value != table[j].value);
  }
  CHECK_EQ_STR(fl_err_name(0), "FL_OK");
  CHECK_EQ_INT(fl_err_curl_code(0), 0);
  CHECK_EQ_STR(fl_strerror(12345), "unknown error");
  CHECK_EQ_STR(fl_err_name(-999999), "FL_EUNKNOWN");
  /* The distinct causes curl folds together keep curl's code. */
  CHECK_EQ_INT(fl_err_curl_code(FL_EDNS_TIMEOUT), 28);
  CHECK_EQ_INT(fl_err_curl_code(FL_EDNS_SERVER_FAIL), 6);
  CHECK_EQ_INT(fl_err_curl_code(FL_ECONN_REFUSED), 7);
  CHECK_EQ_INT(fl_err_curl_code(FL_ECONNECT_TIMEOUT), 28);
  CHECK_EQ_INT(fl_err_curl_code(FL_EHEADER_TOO_LARGE), 8);
  CHECK(strstr(fl_version_details(), "flurry/" FL_VERSION_STRING));
  CHECK(strstr(fl_version_details(), "c-ares/"));
  CHECK(strstr(fl_version_details(), "llhttp/"));
  CHECK_EQ_STR(fl_version(), FL_VERSION_STRING);
  FL_TEST_END();
}
