/* -z/--time-cond: DATE (If-Modified-Since), -DATE (If-Unmodified-Since),
 * +DATE (the same as DATE); DATE in one of the forms curl_getdate(3)
 * reads, or else the name of a file whose modification time is used. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "cli.h"

static int word_is(const char *w, size_t n, const char *name) {
  size_t len = strlen(name);
  if (n != len && !(n == 3 && len > 3)) return 0; /* "Monday" or "Mon" */
  for (size_t i = 0; i < n; i++)
    if (tolower((unsigned char)w[i]) != name[i]) return 0;
  return 1;
}

static int find_name(const char *w, size_t n, const char *const *names, int count) {
  for (int i = 0; i < count; i++)
    if (word_is(w, n, names[i])) return i;
  return -1;
}

/* Zone names curl knows that a date here may carry, with their offsets
 * from UTC in minutes. */
static int zone_offset(const char *w, size_t n, int *minutes) {
  static const struct {
    const char *name;
    int min;
  } zones[] = {{"gmt", 0},    {"ut", 0},     {"utc", 0},    {"wet", 0},    {"bst", 60},
               {"wat", -60},  {"ast", -240}, {"adt", -180}, {"est", -300}, {"edt", -240},
               {"cst", -360}, {"cdt", -300}, {"mst", -420}, {"mdt", -360}, {"pst", -480},
               {"pdt", -420}, {"cet", 60},   {"met", 60},   {"mewt", 60},  {"mest", 120},
               {"cest", 120}, {"mesz", 120}, {"fwt", 60},   {"fst", 120},  {"eet", 120},
               {"wast", 420}, {"wadt", 480}, {"cct", 480},  {"jst", 540},  {"east", 600},
               {"eadt", 660}, {"gst", 600},  {"nzt", 720},  {"nzst", 720}, {"nzdt", 780},
               {"idle", 720}, {"a", 60},     {"z", 0}};
  for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
    size_t len = strlen(zones[i].name);
    if (len != n) continue;
    size_t j = 0;
    while (j < n && tolower((unsigned char)w[j]) == zones[i].name[j]) j++;
    if (j == n) {
      *minutes = zones[i].min;
      return 0;
    }
  }
  return -1;
}

int cli_parse_date(const char *s, int64_t *out) {
  static const char *const wdays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                      "friday", "saturday", "sunday"};
  static const char *const months[] = {"january",   "february", "march",    "april",
                                       "may",       "june",     "july",     "august",
                                       "september", "october",  "november", "december"};
  int mday = -1, mon = -1, year = -1, hh = -1, mm = 0, ss = 0, tz = 0, tzset = 0;
  const char *p = s;
  while (*p) {
    if (isalpha((unsigned char)*p)) {
      const char *w = p;
      while (isalpha((unsigned char)*p)) p++;
      size_t n = (size_t)(p - w);
      int i, off;
      if (find_name(w, n, wdays, 7) >= 0) continue;
      if ((i = find_name(w, n, months, 12)) >= 0 && mon < 0) {
        mon = i;
      } else if (!tzset && zone_offset(w, n, &off) == 0) {
        tz = off;
        tzset = 1;
      } else {
        return -1;
      }
    } else if (isdigit((unsigned char)*p)) {
      const char *d = p;
      while (isdigit((unsigned char)*p)) p++;
      size_t n = (size_t)(p - d);
      long v = strtol(d, NULL, 10);
      if (*p == ':' && hh < 0 && n <= 2) { /* hh:mm[:ss] */
        char *end;
        hh = (int)v;
        mm = (int)strtol(p + 1, &end, 10);
        if (end == p + 1) return -1;
        p = end;
        if (*p == ':' && isdigit((unsigned char)p[1])) {
          ss = (int)strtol(p + 1, &end, 10);
          p = end;
        }
        if (hh > 23 || mm > 59 || ss > 60) return -1;
      } else if ((d > s && (d[-1] == '+' || d[-1] == '-')) && n == 4 && !tzset &&
                 (mday >= 0 || hh >= 0)) { /* +hhmm after a date or time */
        int minutes = (int)(v / 100) * 60 + (int)(v % 100);
        tz = d[-1] == '+' ? minutes : -minutes;
        tzset = 1;
      } else if (n == 8 && year < 0 && mon < 0 && mday < 0) { /* YYYYMMDD */
        year = (int)(v / 10000);
        mon = (int)(v / 100 % 100) - 1;
        mday = (int)(v % 100);
      } else if (mday < 0 && n <= 2 && v >= 1 && v <= 31) {
        mday = (int)v;
      } else if (year < 0 && (n == 4 || n == 2)) {
        year = (int)v;
        if (n == 2) year += year < 70 ? 2000 : 1900;
      } else {
        return -1;
      }
    } else {
      p++;
    }
  }
  if (mday < 0 || mon < 0 || mon > 11 || year < 0 || mday > 31) return -1;
  if (hh < 0) hh = 0;
  struct tm tm = {.tm_year = year - 1900,
                  .tm_mon = mon,
                  .tm_mday = mday,
                  .tm_hour = hh,
                  .tm_min = mm,
                  .tm_sec = ss};
  int64_t t = (int64_t)timegm(&tm); /* UTC; normalizes as curl's date parser does */
  *out = t - (int64_t)tz * 60;
  return 0;
}

int cli_time_cond(const char *arg, int *cond, int64_t *when) {
  *cond = FL_TIMECOND_IFMODSINCE;
  if (*arg == '-') {
    *cond = FL_TIMECOND_IFUNMODSINCE;
    arg++;
  } else if (*arg == '+') {
    arg++;
  }
  if (cli_parse_date(arg, when) == 0) return 0;
  struct stat st;
  if (stat(arg, &st) == 0) {
    *when = (int64_t)st.st_mtime;
    return 0;
  }
  *cond = FL_TIMECOND_NONE;
  return -1;
}
