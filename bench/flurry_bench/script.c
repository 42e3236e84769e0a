/* wrk's Lua API on LuaJIT (see script.h). The parts written in Lua (the
 * wrk table, wrk.format, the resolve/setup/init steps) are the prelude
 * below; lookup, connect, thread objects, statistics objects and every call
 * into the script are C. */
#include "script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef FLB_HAVE_LUA

flb_script *flb_script_new(const flb_config *cfg) {
  fprintf(stderr, "flurry-bench: %s: built without LuaJIT, -s is not available\n", cfg->script);
  return NULL;
}
void flb_script_free(flb_script *s) { (void)s; }
int flb_script_resolve(flb_script *m) {
  (void)m;
  return -1;
}
int flb_script_thread_init(flb_script *m, flb_script *ts, const flb_config *cfg) {
  (void)m, (void)ts, (void)cfg;
  return -1;
}
int flb_script_has_request(const flb_script *ts) {
  (void)ts;
  return 0;
}
int flb_script_has_response(const flb_script *ts) {
  (void)ts;
  return 0;
}
int flb_script_has_delay(const flb_script *ts) {
  (void)ts;
  return 0;
}
int flb_script_has_done(const flb_script *m) {
  (void)m;
  return 0;
}
int flb_script_addr(const flb_script *ts, char *ip, size_t iplen, uint16_t *port) {
  (void)ts, (void)ip, (void)iplen, (void)port;
  return -1;
}
const char *flb_script_request(flb_script *ts, size_t *len) {
  (void)ts, (void)len;
  return NULL;
}
int flb_script_response(flb_script *ts, const fl_response *res, const char *body, size_t len) {
  (void)ts, (void)res, (void)body, (void)len;
  return -1;
}
int flb_script_delay(flb_script *ts, uint64_t *ms) {
  (void)ts, (void)ms;
  return -1;
}
int flb_script_stopped(const flb_script *ts) {
  (void)ts;
  return 0;
}
const char *flb_script_error(const flb_script *ts) {
  (void)ts;
  return "built without LuaJIT";
}
int flb_script_done(flb_script *m, const flb_result *r, uint64_t us) {
  (void)m, (void)r, (void)us;
  return -1;
}

#else

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

struct flb_script {
  lua_State *L;
  int header_mt; /* registry ref: the header tables' metatable */
  int has_request, has_response, has_delay;
  char *fmt; /* wrk.format's scratch buffer */
  size_t fmt_cap;
  struct sockaddr_storage addr; /* thread.addr */
  socklen_t addrlen;            /* 0: none */
  int stop;                     /* wrk.thread:stop(); atomic */
  char err[512];
};

/* ------------------------------------------------------------ prelude
 * The wrk table and the steps wrk runs in Lua (wrk.format is C, below).
 * Header tables keep each name as it was first given and find it whatever
 * its case ("Host", "host"). */
static const char prelude[] =
    "local header_mt = {}\n"
    "local function find_name(t, name)\n"
    "  if type(name) ~= 'string' then return nil end\n"
    "  local lower = name:lower()\n"
    "  for k in next, t do\n"
    "    if type(k) == 'string' and k:lower() == lower then return k end\n"
    "  end\n"
    "end\n"
    "header_mt.__index = function(t, name)\n"
    "  local k = find_name(t, name)\n"
    "  if k then return rawget(t, k) end\n"
    "end\n"
    "header_mt.__newindex = function(t, name, value)\n"
    "  rawset(t, find_name(t, name) or name, value)\n"
    "end\n"
    "local wrk = {\n"
    "  scheme = 'http', host = 'localhost', port = nil, method = 'GET', path = '/',\n"
    "  headers = setmetatable({}, header_mt), body = nil, thread = nil,\n"
    "}\n"
    "function wrk.resolve(host, service)\n"
    "  local usable = {}\n"
    "  for _, addr in ipairs(wrk.lookup(host, service)) do\n"
    "    if wrk.connect(addr) then usable[#usable + 1] = addr end\n"
    "  end\n"
    "  wrk.addrs = usable\n"
    "end\n"
    "function wrk.setup(thread)\n"
    "  thread.addr = wrk.addrs[1]\n"
    "  if type(setup) == 'function' then setup(thread) end\n"
    "end\n"
    "function wrk.init(args)\n"
    "  if not wrk.headers['Host'] then\n"
    "    local host = wrk.host\n"
    "    if host:find(':', 1, true) then host = '[' .. host .. ']' end\n"
    "    if wrk.port then host = host .. ':' .. wrk.port end\n"
    "    wrk.headers['Host'] = host\n"
    "  end\n"
    "  if type(init) == 'function' then init(args) end\n"
    "  local req = wrk.format()\n"
    "  wrk.request = function() return req end\n"
    "end\n"
    "return wrk, header_mt\n";

#define ADDR_MT "flurry-bench.addr"
#define THREAD_MT "flurry-bench.thread"
#define STATS_MT "flurry-bench.stats"

typedef struct addr_ud {
  struct sockaddr_storage sa;
  socklen_t len;
} addr_ud;

typedef struct thread_ud {
  flb_script *ts;
} thread_ud;

typedef struct stats_ud {
  const flb_hist *h;
} stats_ud;

/* ---------------------------------------------------------- addresses */

static addr_ud *push_addr(lua_State *L, const struct sockaddr *sa, socklen_t len) {
  addr_ud *a = lua_newuserdata(L, sizeof *a);
  memset(a, 0, sizeof *a);
  if (len > sizeof a->sa) len = sizeof a->sa;
  memcpy(&a->sa, sa, len);
  a->len = len;
  luaL_getmetatable(L, ADDR_MT);
  lua_setmetatable(L, -2);
  return a;
}

static int addr_tostring(lua_State *L) {
  addr_ud *a = luaL_checkudata(L, 1, ADDR_MT);
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  int rc = getnameinfo((struct sockaddr *)&a->sa, a->len, host, sizeof host, serv, sizeof serv,
                       NI_NUMERICHOST | NI_NUMERICSERV);
  if (rc) return luaL_error(L, "address to string: %s", gai_strerror(rc));
  lua_pushfstring(L, "%s:%s", host, serv);
  return 1;
}

/* wrk.lookup(host, service): every address getaddrinfo gives. */
static int wrk_lookup(lua_State *L) {
  const char *host = luaL_checkstring(L, 1);
  const char *service = lua_isnoneornil(L, 2) ? "http" : luaL_checkstring(L, 2);
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host, service, &hints, &res);
  if (rc) return luaL_error(L, "unable to resolve %s:%s: %s", host, service, gai_strerror(rc));
  lua_newtable(L);
  int i = 1;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    push_addr(L, ai->ai_addr, ai->ai_addrlen);
    lua_rawseti(L, -2, i++);
  }
  freeaddrinfo(res);
  return 1;
}

/* wrk.connect(addr): whether a TCP connection to it succeeds (within 2 s). */
static int wrk_connect(lua_State *L) {
  addr_ud *a = luaL_checkudata(L, 1, ADDR_MT);
  int ok = 0;
  int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    int rc = connect(fd, (struct sockaddr *)&a->sa, a->len);
    if (rc == 0) {
      ok = 1;
    } else if (errno == EINPROGRESS) {
      struct pollfd p = {.fd = fd, .events = POLLOUT};
      int soerr = 0;
      socklen_t sl = sizeof soerr;
      ok = poll(&p, 1, 2000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
           soerr == 0;
    }
    close(fd);
  }
  lua_pushboolean(L, ok);
  return 1;
}

/* ---------------------------------------------------------- wrk.format */

typedef struct fmt_buf {
  flb_script *s;
  size_t n;
} fmt_buf;

static void put(lua_State *L, fmt_buf *b, const char *p, size_t n) {
  flb_script *s = b->s;
  if (b->n + n > s->fmt_cap) {
    size_t cap = s->fmt_cap ? s->fmt_cap : 1024;
    while (cap < b->n + n) cap *= 2;
    char *f = realloc(s->fmt, cap);
    if (!f) luaL_error(L, "wrk.format: out of memory");
    s->fmt = f;
    s->fmt_cap = cap;
  }
  memcpy(s->fmt + b->n, p, n);
  b->n += n;
}

/* wrk.format(method, path, headers, body): the request line, the headers
 * (Host from wrk.headers when they have none; any Content-Length replaced by
 * the body's), a blank line and the body. What is nil comes from the wrk
 * table (upvalue 1). In C: request() functions call it per request. */
static int wrk_format(lua_State *L) {
  static const char *const fields[] = {"method", "path", "headers", "body"};
  fmt_buf b = {lua_touserdata(L, lua_upvalueindex(2)), 0};
  int wrk = lua_upvalueindex(1);
  lua_settop(L, 4);
  for (int i = 0; i < 4; i++) {
    if (!lua_isnil(L, i + 1)) continue;
    lua_getfield(L, wrk, fields[i]);
    lua_replace(L, i + 1);
  }
  size_t mlen, plen, blen = 0;
  const char *method = luaL_checklstring(L, 1, &mlen);
  const char *path = luaL_checklstring(L, 2, &plen);
  const char *body = lua_isnil(L, 4) ? NULL : luaL_checklstring(L, 4, &blen);
  put(L, &b, method, mlen);
  put(L, &b, " ", 1);
  put(L, &b, path, plen);
  put(L, &b, " HTTP/1.1\r\n", 11);
  int host = 0;
  if (lua_istable(L, 3)) {
    lua_pushnil(L);
    while (lua_next(L, 3)) { /* key -2, value -1 */
      size_t kl, vl;
      if (lua_type(L, -2) != LUA_TSTRING) {
        lua_pop(L, 1);
        continue;
      }
      const char *k = lua_tolstring(L, -2, &kl);
      if (kl == 14 && !strncasecmp(k, "content-length", 14)) {
        lua_pop(L, 1);
        continue;
      }
      host |= kl == 4 && !strncasecmp(k, "host", 4);
      int t = lua_type(L, -1);
      if (t != LUA_TSTRING && t != LUA_TNUMBER) { /* tostring(value), as string.format("%s") */
        lua_getglobal(L, "tostring");
        lua_insert(L, -2);
        lua_call(L, 1, 1);
      }
      const char *v =
          lua_tolstring(L, -1, &vl); /* a number turns into a string on the stack only */
      if (!v) return luaL_error(L, "wrk.format: header %s has no string value", k);
      put(L, &b, k, kl);
      put(L, &b, ": ", 2);
      put(L, &b, v, vl);
      put(L, &b, "\r\n", 2);
      lua_pop(L, 1);
    }
  }
  if (!host) {
    lua_getfield(L, wrk, "headers");
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "Host"); /* through the header metatable: any case */
      size_t hl;
      const char *h = lua_isstring(L, -1) ? lua_tolstring(L, -1, &hl) : NULL;
      if (h) {
        put(L, &b, "Host: ", 6);
        put(L, &b, h, hl);
        put(L, &b, "\r\n", 2);
      }
    }
    lua_settop(L, 4);
  }
  if (body) {
    char cl[48];
    int n = snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", blen);
    put(L, &b, cl, (size_t)n);
  }
  put(L, &b, "\r\n", 2);
  if (body) put(L, &b, body, blen);
  lua_pushlstring(L, b.s->fmt, b.n);
  return 1;
}

/* ------------------------------------------------------------- threads */

/* Push onto dst a copy of the value at idx in src: nil, booleans, numbers,
 * strings and tables of them (wrk's rule for thread:get/set). */
static int copy_value(lua_State *src, int idx, lua_State *dst, int depth) {
  if (idx < 0) idx = lua_gettop(src) + idx + 1;
  switch (lua_type(src, idx)) {
  case LUA_TNIL: lua_pushnil(dst); return 0;
  case LUA_TBOOLEAN: lua_pushboolean(dst, lua_toboolean(src, idx)); return 0;
  case LUA_TNUMBER: lua_pushnumber(dst, lua_tonumber(src, idx)); return 0;
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(src, idx, &n);
    lua_pushlstring(dst, s, n);
    return 0;
  }
  case LUA_TTABLE:
    if (depth > 32) return -1;
    lua_newtable(dst);
    lua_pushnil(src);
    while (lua_next(src, idx)) {
      int top = lua_gettop(src);
      if (copy_value(src, top - 1, dst, depth + 1) || copy_value(src, top, dst, depth + 1)) {
        lua_pop(src, 2);
        return -1;
      }
      lua_settable(dst, -3);
      lua_pop(src, 1);
    }
    return 0;
  default: return -1;
  }
}

static flb_script *check_thread(lua_State *L) {
  thread_ud *t = luaL_checkudata(L, 1, THREAD_MT);
  return t->ts;
}

static int thread_get(lua_State *L) {
  flb_script *ts = check_thread(L);
  const char *name = luaL_checkstring(L, 2);
  if (ts->L == L) {
    lua_getglobal(L, name);
    return 1;
  }
  lua_getglobal(ts->L, name);
  int bad = copy_value(ts->L, -1, L, 0);
  lua_pop(ts->L, 1);
  if (bad)
    return luaL_error(
        L, "thread:get('%s'): only nil, booleans, numbers, strings and tables of them", name);
  return 1;
}

static int thread_set(lua_State *L) {
  flb_script *ts = check_thread(L);
  const char *name = luaL_checkstring(L, 2);
  lua_settop(L, 3);
  if (ts->L == L) {
    lua_setglobal(L, name);
    return 0;
  }
  if (copy_value(L, 3, ts->L, 0))
    return luaL_error(
        L, "thread:set('%s'): only nil, booleans, numbers, strings and tables of them", name);
  lua_setglobal(ts->L, name);
  return 0;
}

static int thread_stop(lua_State *L) {
  flb_script *ts = check_thread(L);
  __atomic_store_n(&ts->stop, 1, __ATOMIC_RELAXED);
  return 0;
}

static int thread_index(lua_State *L) {
  flb_script *ts = check_thread(L);
  const char *key = luaL_checkstring(L, 2);
  if (!strcmp(key, "get"))
    lua_pushcfunction(L, thread_get);
  else if (!strcmp(key, "set"))
    lua_pushcfunction(L, thread_set);
  else if (!strcmp(key, "stop"))
    lua_pushcfunction(L, thread_stop);
  else if (!strcmp(key, "addr") && ts->addrlen)
    push_addr(L, (struct sockaddr *)&ts->addr, ts->addrlen);
  else
    lua_pushnil(L);
  return 1;
}

static int thread_newindex(lua_State *L) {
  flb_script *ts = check_thread(L);
  const char *key = luaL_checkstring(L, 2);
  if (strcmp(key, "addr")) return luaL_error(L, "cannot set '%s' on a thread", key);
  if (lua_isnil(L, 3)) {
    ts->addrlen = 0;
    return 0;
  }
  addr_ud *a = luaL_checkudata(L, 3, ADDR_MT);
  memcpy(&ts->addr, &a->sa, sizeof ts->addr);
  ts->addrlen = a->len;
  return 0;
}

static void push_thread(lua_State *L, flb_script *ts) {
  thread_ud *t = lua_newuserdata(L, sizeof *t);
  t->ts = ts;
  luaL_getmetatable(L, THREAD_MT);
  lua_setmetatable(L, -2);
}

/* ---------------------------------------------------------- statistics */

static const flb_hist *check_stats(lua_State *L) {
  stats_ud *s = luaL_checkudata(L, 1, STATS_MT);
  return s->h;
}

/* Value reported for bucket i: its highest value, kept within [min, max]. */
static double bucket_value(const flb_hist *h, size_t i) {
  uint64_t v = flb_hist_bucket_high(i);
  if (v > h->max) v = h->max;
  if (v < h->min) v = h->min;
  return (double)v;
}

static int stats_percentile(lua_State *L) {
  const flb_hist *h = check_stats(L);
  lua_pushnumber(L, (double)flb_hist_percentile(h, luaL_checknumber(L, 2)));
  return 1;
}

/* latency(i): the i-th distinct value (1-based, ascending) and its count. */
static int stats_call(lua_State *L) {
  const flb_hist *h = check_stats(L);
  lua_Integer want = luaL_checkinteger(L, 2);
  lua_Integer seen = 0;
  for (size_t i = 0; i < FLB_HIST_BUCKETS; i++) {
    if (!h->buckets[i] || ++seen != want) continue;
    lua_pushnumber(L, bucket_value(h, i));
    lua_pushnumber(L, (double)h->buckets[i]);
    return 2;
  }
  lua_pushnil(L);
  lua_pushnumber(L, 0);
  return 2;
}

static int stats_len(lua_State *L) {
  const flb_hist *h = check_stats(L);
  lua_Integer n = 0;
  for (size_t i = 0; i < FLB_HIST_BUCKETS; i++) n += h->buckets[i] != 0;
  lua_pushinteger(L, n);
  return 1;
}

static int stats_index(lua_State *L) {
  const flb_hist *h = check_stats(L);
  const char *key = luaL_checkstring(L, 2);
  if (!strcmp(key, "min"))
    lua_pushnumber(L, h->count ? (double)h->min : 0);
  else if (!strcmp(key, "max"))
    lua_pushnumber(L, (double)h->max);
  else if (!strcmp(key, "mean"))
    lua_pushnumber(L, flb_hist_mean(h));
  else if (!strcmp(key, "stdev"))
    lua_pushnumber(L, flb_hist_stdev(h));
  else if (!strcmp(key, "count"))
    lua_pushnumber(L, (double)h->count);
  else if (!strcmp(key, "percentile"))
    lua_pushcfunction(L, stats_percentile);
  else
    lua_pushnil(L);
  return 1;
}

static void push_stats(lua_State *L, const flb_hist *h) {
  stats_ud *s = lua_newuserdata(L, sizeof *s);
  s->h = h;
  luaL_getmetatable(L, STATS_MT);
  lua_setmetatable(L, -2);
}

/* ------------------------------------------------------------- states */

/* The URL's parts as wrk gives them: host without brackets, port or nil,
 * path from the first '/' to the end (query included), "/" without one. */
typedef struct url_parts {
  char scheme[16];
  char host[256];
  char port[8];
  const char *path;
} url_parts;

static int split_url(const char *url, url_parts *u) {
  memset(u, 0, sizeof *u);
  const char *sep = strstr(url, "://");
  if (!sep || (size_t)(sep - url) >= sizeof u->scheme) return -1;
  memcpy(u->scheme, url, (size_t)(sep - url));
  const char *a = sep + 3, *end = a + strcspn(a, "/?#");
  const char *at = memchr(a, '@', (size_t)(end - a));
  if (at) a = at + 1;
  const char *host = a, *host_end, *port = NULL;
  if (*a == '[') {
    host = a + 1;
    host_end = memchr(host, ']', (size_t)(end - host));
    if (!host_end) return -1;
    if (host_end + 1 < end && host_end[1] == ':') port = host_end + 2;
  } else {
    host_end = memchr(a, ':', (size_t)(end - a));
    if (host_end)
      port = host_end + 1;
    else
      host_end = end;
  }
  if ((size_t)(host_end - host) >= sizeof u->host ||
      (port && (size_t)(end - port) >= sizeof u->port))
    return -1;
  memcpy(u->host, host, (size_t)(host_end - host));
  if (port) memcpy(u->port, port, (size_t)(end - port));
  u->path = *end == '/' ? end : "/";
  return 0;
}

static void set_metatable(lua_State *L, const char *name, const luaL_Reg *fns) {
  luaL_newmetatable(L, name);
  luaL_register(L, NULL, fns);
  lua_pop(L, 1);
}

/* Call the function under the n arguments on top of the stack, nresults
 * results; on an error its message goes to s->err prefixed with what. */
static int call(flb_script *s, int nargs, int nresults, const char *what) {
  if (lua_pcall(s->L, nargs, nresults, 0) == 0) return 0;
  const char *msg = lua_tostring(s->L, -1);
  snprintf(s->err, sizeof s->err, "%s: %s", what, msg ? msg : "(error object is not a string)");
  lua_pop(s->L, 1);
  return -1;
}

flb_script *flb_script_new(const flb_config *cfg) {
  flb_script *s = calloc(1, sizeof *s);
  url_parts u;
  if (!s) return NULL;
  if (split_url(cfg->url, &u)) {
    fprintf(stderr, "flurry-bench: cannot take the URL %s apart for the script\n", cfg->url);
    free(s);
    return NULL;
  }
  lua_State *L = s->L = luaL_newstate();
  if (!L) {
    free(s);
    return NULL;
  }
  luaL_openlibs(L);
  static const luaL_Reg addr_fns[] = {{"__tostring", addr_tostring}, {NULL, NULL}};
  static const luaL_Reg thread_fns[] = {
      {"__index", thread_index}, {"__newindex", thread_newindex}, {NULL, NULL}};
  static const luaL_Reg stats_fns[] = {
      {"__index", stats_index}, {"__call", stats_call}, {"__len", stats_len}, {NULL, NULL}};
  set_metatable(L, ADDR_MT, addr_fns);
  set_metatable(L, THREAD_MT, thread_fns);
  set_metatable(L, STATS_MT, stats_fns);

  if (luaL_loadbuffer(L, prelude, sizeof prelude - 1, "=wrk") || call(s, 0, 2, "wrk prelude")) {
    fprintf(stderr, "flurry-bench: %s\n", s->err[0] ? s->err : lua_tostring(L, -1));
    flb_script_free(s);
    return NULL;
  }
  s->header_mt = luaL_ref(L, LUA_REGISTRYINDEX); /* pops the metatable */
  lua_pushvalue(L, -1);
  lua_setglobal(L, "wrk");
  lua_pushstring(L, u.scheme);
  lua_setfield(L, -2, "scheme");
  lua_pushstring(L, u.host);
  lua_setfield(L, -2, "host");
  if (u.port[0])
    lua_pushstring(L, u.port);
  else
    lua_pushnil(L);
  lua_setfield(L, -2, "port");
  lua_pushstring(L, u.path);
  lua_setfield(L, -2, "path");
  lua_pushcfunction(L, wrk_lookup);
  lua_setfield(L, -2, "lookup");
  lua_pushcfunction(L, wrk_connect);
  lua_setfield(L, -2, "connect");
  lua_pushvalue(L, -1);
  lua_pushlightuserdata(L, s);
  lua_pushcclosure(L, wrk_format, 2);
  lua_setfield(L, -2, "format");
  if (cfg->method_given) {
    lua_pushstring(L, cfg->method);
    lua_setfield(L, -2, "method");
  }
  if (cfg->body) {
    lua_pushlstring(L, cfg->body, cfg->body_len);
    lua_setfield(L, -2, "body");
  }
  lua_getfield(L, -1, "headers");
  for (uint64_t i = 0; i < cfg->nheaders; i++) {
    lua_pushstring(L, cfg->headers[i].value);
    lua_setfield(L, -2, cfg->headers[i].name); /* through the metatable: case-insensitive */
  }
  lua_settop(L, 0);

  if (luaL_loadfile(L, cfg->script) || call(s, 0, 0, cfg->script)) {
    fprintf(stderr, "flurry-bench: %s\n", s->err[0] ? s->err : lua_tostring(L, -1));
    flb_script_free(s);
    return NULL;
  }
  return s;
}

void flb_script_free(flb_script *s) {
  if (!s) return;
  if (s->L) lua_close(s->L);
  free(s->fmt);
  free(s);
}

int flb_script_resolve(flb_script *m) {
  lua_State *L = m->L;
  url_parts u;
  lua_settop(L, 0);
  lua_getglobal(L, "wrk");
  lua_getfield(L, 1, "host");
  const char *host = lua_tostring(L, -1);
  lua_getfield(L, 1, "port");
  lua_getfield(L, 1, "scheme");
  const char *service = lua_isstring(L, -2) ? lua_tostring(L, -2) : lua_tostring(L, -1);
  memset(&u, 0, sizeof u);
  snprintf(u.host, sizeof u.host, "%s", host ? host : "");
  snprintf(u.port, sizeof u.port, "%s", service ? service : "");
  lua_settop(L, 1);
  lua_getfield(L, 1, "resolve");
  lua_pushstring(L, u.host);
  lua_pushstring(L, u.port);
  if (call(m, 2, 0, "wrk.resolve")) {
    fprintf(stderr, "flurry-bench: %s\n", m->err);
    return -1;
  }
  lua_getfield(L, 1, "addrs");
  size_t n = lua_objlen(L, -1);
  lua_settop(L, 0);
  if (!n) {
    fprintf(stderr, "flurry-bench: unable to connect to %s:%s\n", u.host, u.port);
    return -1;
  }
  return 0;
}

static int is_function(lua_State *L, const char *name) {
  lua_getglobal(L, name);
  int yes = lua_isfunction(L, -1);
  lua_pop(L, 1);
  return yes;
}

int flb_script_thread_init(flb_script *m, flb_script *ts, const flb_config *cfg) {
  lua_settop(m->L, 0);
  lua_settop(ts->L, 0);
  lua_getglobal(ts->L, "wrk");
  push_thread(ts->L, ts);
  lua_setfield(ts->L, -2, "thread");
  lua_settop(ts->L, 0);

  lua_getglobal(m->L, "wrk");
  lua_getfield(m->L, -1, "setup");
  push_thread(m->L, ts);
  if (call(m, 1, 0, "setup")) {
    fprintf(stderr, "flurry-bench: %s\n", m->err);
    return -1;
  }
  lua_settop(m->L, 0);

  lua_getglobal(ts->L, "wrk");
  lua_getfield(ts->L, -1, "init");
  lua_newtable(ts->L); /* args: [0] the URL, then what followed it ("--" ...) */
  for (int i = 0; i < cfg->nscript_args; i++) {
    lua_pushstring(ts->L, cfg->script_args[i]);
    lua_rawseti(ts->L, -2, i);
  }
  if (call(ts, 1, 0, "init")) {
    fprintf(stderr, "flurry-bench: %s\n", ts->err);
    return -1;
  }
  lua_settop(ts->L, 0);
  ts->has_request = is_function(ts->L, "request");
  ts->has_response = is_function(ts->L, "response");
  ts->has_delay = is_function(ts->L, "delay");
  return 0;
}

int flb_script_has_request(const flb_script *ts) { return ts->has_request; }
int flb_script_has_response(const flb_script *ts) { return ts->has_response; }
int flb_script_has_delay(const flb_script *ts) { return ts->has_delay; }
int flb_script_has_done(const flb_script *m) { return is_function(m->L, "done"); }

int flb_script_addr(const flb_script *ts, char *ip, size_t iplen, uint16_t *port) {
  char serv[NI_MAXSERV];
  if (!ts->addrlen) return -1;
  if (getnameinfo((const struct sockaddr *)&ts->addr, ts->addrlen, ip, (socklen_t)iplen, serv,
                  sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV))
    return -1;
  *port = (uint16_t)atoi(serv);
  return 0;
}

const char *flb_script_request(flb_script *ts, size_t *len) {
  lua_State *L = ts->L;
  lua_settop(L, 0); /* the previous call's string goes now, not before */
  lua_getglobal(L, "request");
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    lua_getglobal(L, "wrk");
    lua_getfield(L, -1, "request");
    lua_remove(L, -2);
  }
  if (call(ts, 0, 1, "request()")) return NULL;
  if (lua_type(L, -1) != LUA_TSTRING) {
    snprintf(ts->err, sizeof ts->err, "request(): returned %s, not a string", luaL_typename(L, -1));
    return NULL;
  }
  return lua_tolstring(L, -1, len); /* stays on the stack until the next call */
}

int flb_script_response(flb_script *ts, const fl_response *res, const char *body, size_t len) {
  lua_State *L = ts->L;
  lua_settop(L, 0);
  lua_getglobal(L, "response");
  lua_pushinteger(L, fl_response_status(res));
  size_t n = fl_response_header_count(res);
  lua_createtable(L, 0, (int)n);
  for (size_t i = 0; i < n; i++) {
    const char *name, *value;
    if (fl_response_header_at(res, i, &name, &value)) break;
    lua_pushstring(L, name);
    lua_pushstring(L, value);
    lua_rawset(L, -3);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, ts->header_mt);
  lua_setmetatable(L, -2);
  lua_pushlstring(L, body ? body : "", len);
  return call(ts, 3, 0, "response()");
}

int flb_script_delay(flb_script *ts, uint64_t *ms) {
  lua_State *L = ts->L;
  lua_settop(L, 0);
  lua_getglobal(L, "delay");
  if (call(ts, 0, 1, "delay()")) return -1;
  lua_Number v = lua_tonumber(L, -1);
  *ms = v > 0 ? (uint64_t)v : 0;
  lua_settop(L, 0);
  return 0;
}

int flb_script_stopped(const flb_script *ts) {
  return __atomic_load_n(&ts->stop, __ATOMIC_RELAXED);
}
const char *flb_script_error(const flb_script *ts) { return ts->err; }

static void set_number(lua_State *L, const char *key, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, key);
}

int flb_script_done(flb_script *m, const flb_result *r, uint64_t runtime_us) {
  lua_State *L = m->L;
  lua_settop(L, 0);
  lua_getglobal(L, "done");
  lua_newtable(L);
  set_number(L, "duration", (double)runtime_us);
  set_number(L, "requests", (double)r->complete);
  set_number(L, "bytes", (double)r->bytes);
  lua_newtable(L);
  set_number(L, "connect", (double)r->errors[FLB_ERR_CONNECT]);
  set_number(L, "read", (double)r->errors[FLB_ERR_READ]);
  set_number(L, "write", (double)r->errors[FLB_ERR_WRITE]);
  set_number(L, "status", (double)r->errors[FLB_ERR_STATUS]);
  set_number(L, "timeout", (double)r->errors[FLB_ERR_TIMEOUT]);
  lua_setfield(L, -2, "errors");
  push_stats(L, &r->latency);
  push_stats(L, &r->rate);
  if (call(m, 3, 0, "done()")) {
    fprintf(stderr, "flurry-bench: %s\n", m->err);
    return -1;
  }
  return 0;
}

#endif
