/* Header lists (arena storage, case-insensitive lookup, repeats, removal,
 * incremental building across split reads) and validation of what we send. */
#include <string.h>

#include "base/headers.h"
#include "test.h"

static void test_list(void) {
  fl__headers h;
  fl__headers_init(&h);
  CHECK_EQ_INT(fl__headers_add(&h, "Set-Cookie", 10, "a=1", 3), 0);
  CHECK_EQ_INT(fl__headers_add(&h, "X-Case", 6, "One", 3), 0);
  CHECK_EQ_INT(fl__headers_add(&h, "set-cookie", 10, "b=2", 3), 0);
  CHECK_EQ_INT(h.n, 3);
  CHECK_EQ_STR(fl__headers_get(&h, "SET-COOKIE"), "a=1"); /* first of the repeats */
  CHECK_EQ_STR(fl__headers_get(&h, "x-case"), "One");
  CHECK(fl__headers_get(&h, "X-Cas") == NULL);
  CHECK(fl__headers_get(&h, "X-Case-Longer") == NULL);
  CHECK_EQ_STR(fl__headers_name(&h, 2), "set-cookie"); /* case kept as given */
  CHECK_EQ_STR(fl__headers_value(&h, 2), "b=2");
  CHECK_EQ_INT(fl__headers_remove(&h, "Set-Cookie"), 2);
  CHECK_EQ_INT(h.n, 1);
  CHECK_EQ_STR(fl__headers_name(&h, 0), "X-Case");
  CHECK_EQ_INT(fl__headers_remove(&h, "absent"), 0);
  /* Many headers force the arena and item array to grow; lookups stay right. */
  char name[32], value[32];
  for (int i = 0; i < 500; i++) {
    int nl = snprintf(name, sizeof name, "H-%d", i), vl = snprintf(value, sizeof value, "v%d", i);
    CHECK_EQ_INT(fl__headers_add(&h, name, (size_t)nl, value, (size_t)vl), 0);
  }
  CHECK_EQ_STR(fl__headers_get(&h, "h-499"), "v499");
  CHECK_EQ_STR(fl__headers_get(&h, "H-0"), "v0");
  /* Reset keeps memory: refilling to the same size does not reallocate. */
  char *arena = h.arena.data;
  fl__header_ref *items = h.items;
  fl__headers_reset(&h);
  CHECK_EQ_INT(h.n, 0);
  CHECK(fl__headers_get(&h, "H-0") == NULL);
  for (int i = 0; i < 500; i++) {
    int nl = snprintf(name, sizeof name, "H-%d", i), vl = snprintf(value, sizeof value, "v%d", i);
    CHECK_EQ_INT(fl__headers_add(&h, name, (size_t)nl, value, (size_t)vl), 0);
  }
  CHECK(h.arena.data == arena);
  CHECK(h.items == items);
  fl__headers_dispose(&h);
}

static void test_incremental(void) {
  /* As the parser delivers them: names and values in pieces. */
  fl__headers h;
  fl__headers_init(&h);
  CHECK_EQ_INT(fl__headers_append_name(&h, "Cont", 4), 0);
  CHECK_EQ_INT(fl__headers_append_name(&h, "ent-Type", 8), 0);
  CHECK_EQ_INT(fl__headers_append_value(&h, "text/", 5), 0);
  CHECK_EQ_INT(fl__headers_append_value(&h, "plain", 5), 0);
  CHECK_EQ_INT(fl__headers_commit(&h), 0);
  CHECK_EQ_INT(fl__headers_append_name(&h, "X-Empty", 7), 0);
  CHECK_EQ_INT(fl__headers_commit(&h), 0); /* a name without a value */
  CHECK_EQ_INT(fl__headers_append_name(&h, "A", 1), 0);
  CHECK_EQ_INT(fl__headers_append_value(&h, "1", 1), 0);
  CHECK_EQ_INT(fl__headers_append_name(&h, "B", 1), 0); /* next name commits A */
  CHECK_EQ_INT(fl__headers_append_value(&h, "2", 1), 0);
  CHECK_EQ_INT(fl__headers_commit(&h), 0);
  CHECK_EQ_INT(fl__headers_commit(&h), 0); /* nothing pending: harmless */
  CHECK_EQ_INT(h.n, 4);
  CHECK_EQ_STR(fl__headers_get(&h, "content-type"), "text/plain");
  CHECK_EQ_STR(fl__headers_get(&h, "X-Empty"), "");
  CHECK_EQ_STR(fl__headers_get(&h, "a"), "1");
  CHECK_EQ_STR(fl__headers_get(&h, "b"), "2");
  CHECK_EQ_INT(h.items[0].name_len, 12);
  CHECK_EQ_INT(h.items[0].value_len, 10);
  fl__headers_dispose(&h);
}

static void test_validation(void) {
  CHECK(fl__token_valid("GET", 3));
  CHECK(fl__token_valid("X-Custom_Header.1~!#$%&'*+^`|", 29));
  CHECK(!fl__token_valid("", 0));
  CHECK(!fl__token_valid("GET /", 5));
  CHECK(!fl__token_valid("X:Y", 3));
  CHECK(!fl__token_valid("X\r", 2));
  CHECK(!fl__token_valid("X\n", 2));
  CHECK(!fl__token_valid("X\0Y", 3));
  CHECK(!fl__token_valid("caf\xc3\xa9", 5));
  CHECK(!fl__token_valid("(x)", 3));
  CHECK(fl__field_value_valid("", 0));
  CHECK(fl__field_value_valid("text/plain; q=0.5", 17));
  CHECK(fl__field_value_valid("tab\there", 8));
  CHECK(fl__field_value_valid("utf8 caf\xc3\xa9", 10));
  CHECK(!fl__field_value_valid("a\r\nInjected: 1", 14));
  CHECK(!fl__field_value_valid("a\nb", 3));
  CHECK(!fl__field_value_valid("a\rb", 3));
  CHECK(!fl__field_value_valid("a\0b", 3));
  CHECK(!fl__field_value_valid("bell\x07", 5));
  CHECK(!fl__field_value_valid("del\x7f", 4));
}

int main(void) {
  FL_TEST_BEGIN();
  test_list();
  test_incremental();
  test_validation();
  FL_TEST_END();
}
