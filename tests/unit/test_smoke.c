/* Proves the build wiring: the public header, the static library, the test
 * support library, and the error table. */
#include "flurry.h"
#include "test.h"

int main(void) {
  FL_TEST_BEGIN();

  const char *v = fl_version();
  CHECK(v != NULL);
  CHECK_EQ_STR(v, FL_VERSION_STRING);

  const char *msg = fl_strerror(FL_ECONNECT);
  CHECK(msg != NULL);
  CHECK(msg[0] != '\0');
  CHECK_EQ_STR(fl_err_name(FL_ECONNECT), "FL_ECONNECT");
  CHECK_EQ_INT(fl_err_curl_code(FL_ECONNECT), 7);
  CHECK(fl_strerror(12345) != NULL);

  CHECK(fl_test_count_fds() >= 3);

  FL_TEST_END();
}
