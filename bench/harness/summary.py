#!/usr/bin/env python3
"""The issue's targets against the latest harness results.

Reads the markdown reports in bench/results/ (keepalive-c64, keepalive-c10000,
tls-c64, seeds; keepalive-get-c64 when present; against canned-server:
keepalive-canned-c64, tls-canned-c64; instructions) and prints one markdown
table: each target, what was measured in the same run, and whether it was
met, with the server's CPU use where the server sets the rate.

  bench/harness/summary.py [RESULTS_DIR]   (default bench/results)
"""
import os
import re
import sys


def tables(path):
    """Every markdown table in the file: a list of rows, each a dict by header."""
    out, cur, head = [], None, None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.startswith("|"):
                if cur is not None:
                    out.append(cur)
                cur, head = None, None
                continue
            cells = [c.strip() for c in line.strip("|").split("|")]
            if head is None:
                head, cur = cells, []
            elif set("".join(cells)) <= set("-: "):
                continue
            else:
                cur.append(dict(zip(head, cells)))
    if cur is not None:
        out.append(cur)
    return out


def row(table, first_col_value):
    for r in table:
        if next(iter(r.values())) == first_col_value:
            return r
    return None


def num(s):
    m = re.match(r"-?[0-9.]+", s or "")
    return float(m.group(0)) if m else None


def pick(r, prefix):
    """The value of the first column whose header starts with prefix."""
    for k, v in r.items():
        if k.startswith(prefix):
            return v
    return None


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
    lines = ["| target | measured (same run) | met | report |", "|---|---|---|---|"]

    def add(target, measured, met, report):
        verdict = {True: "met", False: "not met", None: "not measured", "extra": "(no target)"}[met]
        lines.append("| %s | %s | %s | %s |" % (target, measured, verdict, report))

    def ka(name):
        p = os.path.join(d, name + ".md")
        if not os.path.exists(p):
            return None, None
        t = tables(p)
        return t[0], (t[1] if len(t) > 1 else [])

    def vs_wrk(target, table, rate_col, at_least, report):
        """flurry-bench over wrk in table: met when both ratios reach at_least."""
        w, fb = row(table, "wrk"), row(table, "flurry-bench")
        if not (w and fb):
            return None, None
        r_med = num(pick(fb, "ratio to wrk (medians)"))
        r_pr = num(pick(fb, "ratio to wrk (median of rounds)"))
        add(target, "%s vs %s req/s: %.2fx (per round %.2fx); nginx's core at %s%% vs %s%%"
            % (fb[rate_col], w[rate_col], r_med, r_pr, pick(fb, "server CPU"), pick(w, "server CPU")),
            r_med >= at_least and r_pr >= at_least, report)
        return w, fb

    main_t, ratios = ka("keepalive-c64")
    if main_t:
        w, fb = vs_wrk("flurry-bench >= 1.3x wrk, 64 connections, /hello", main_t, "median req/s", 1.3,
                       "keepalive-c64.md")
        if w and fb:
            s_fb, s_w = num(fb["syscalls/request"]), num(w["syscalls/request"])
            add("<= 2.1 syscalls per request", "%s (wrk %s)" % (fb["syscalls/request"], w["syscalls/request"]),
                None if s_fb is None else s_fb <= 2.1, "keepalive-c64.md")
            c_fb, c_w = num(pick(fb, "client CPU")), num(pick(w, "client CPU"))
            add("client CPU per request <= wrk's", "%.2f vs %.2f us" % (c_fb, c_w), c_fb <= c_w,
                "keepalive-c64.md")
        p8, w8 = row(main_t, "flurry-bench-p8"), row(main_t, "wrk-p8")
        if p8 and w8:
            add("(extra) pipelined, 8 per connection: flurry-bench-p8 vs wrk-p8",
                "%s vs %s req/s: %.2fx; vs wrk unpipelined %s"
                % (p8["median req/s"], w8["median req/s"],
                   num(p8["median req/s"]) / num(w8["median req/s"]), pick(p8, "ratio to wrk (medians)")),
                "extra", "keepalive-c64.md")
        for lib in ("fl_load", "fl_load-p8"):
            rr = row(ratios, "%s / curl-multi" % lib) or \
                row(ratios, "%s / curl-multi (the library vs libcurl multi; target >= 3x)" % lib)
            fl, cm = row(main_t, lib), row(main_t, "curl-multi")
            if rr and fl and cm:
                add("the library (fl_load%s) >= 3x libcurl multi, 64 connections"
                    % (" with pipeline_depth 8" if lib.endswith("p8") else ""),
                    "%s vs %s req/s: %s (per round %s); nginx's core at %s%% vs %s%%"
                    % (fl["median req/s"], cm["median req/s"], rr["medians"], rr["per round"],
                       pick(fl, "server CPU"), pick(cm, "server CPU")),
                    num(rr["medians"]) >= 3 and num(rr["per round"]) >= 3, "keepalive-c64.md")

    t10k, _ = ka("keepalive-c10000")
    if t10k:
        w, fb = row(t10k, "wrk"), row(t10k, "flurry-bench")
        if w and fb:
            rps = num(fb["median req/s"]) >= num(w["median req/s"])
            rss = num(fb["peak RSS KB"]) <= num(w["peak RSS KB"])
            add("10,000 connections, one thread: req/s >= wrk's, peak RSS <= wrk's",
                "%s vs %s req/s (%s); RSS %s vs %s KB"
                % (fb["median req/s"], w["median req/s"], pick(fb, "ratio to wrk (medians)"),
                   fb["peak RSS KB"], w["peak RSS KB"]), rps and rss, "keepalive-c10000.md")

    p = os.path.join(d, "tls-c64.md")
    if os.path.exists(p):
        vs_wrk("TLS keep-alive >= wrk, 64 connections", tables(p)[0], "median /s", 1, "tls-c64.md")

    # ---- against canned-server (a server cheaper per request than nginx)
    def cpu_and_rate(target_cpu, target_rate, table, a, b, report, rate_col, srv_col):
        ra, rb = row(table, a), row(table, b)
        if not (ra and rb):
            return
        ca, cb = num(pick(ra, "client CPU")), num(pick(rb, "client CPU"))
        add(target_cpu, "%.2f vs %.2f us (%.2fx); server core at %s%% vs %s%%"
            % (ca, cb, ca / cb if cb else 0, pick(ra, srv_col), pick(rb, srv_col)),
            bool(cb) and ca <= 0.8 * cb, report)
        fa, fb_ = num(ra[rate_col]), num(rb[rate_col])
        add(target_rate, "%s vs %s req/s: %.2fx; server core at %s%% vs %s%%"
            % (ra[rate_col], rb[rate_col], fa / fb_ if fb_ else 0, pick(ra, srv_col), pick(rb, srv_col)),
            bool(fb_) and fa >= 1.3 * fb_, report)

    c64, c64_ratios = ka("keepalive-canned-c64")
    if c64 and main_t:
        wc, wn = row(c64, "wrk"), row(main_t, "wrk")
        key = "server CPU us/request (median)"
        if wc and wn and num(wc.get(key)) and num(wn.get(key)):
            add("(extra) the canned server's CPU per request against nginx's (both under wrk, 64 connections)",
                "%s vs %s us (%.2fx); at %s vs %s req/s"
                % (wc[key], wn[key], num(wc[key]) / num(wn[key]), wc["median req/s"], wn["median req/s"]),
                "extra", "keepalive-canned-c64.md, keepalive-c64.md")
    if c64:
        rep = "keepalive-canned-c64.md"
        cpu_and_rate("canned, plain keep-alive, 64 connections: client CPU per request <= 0.8x wrk's",
                     "canned, plain keep-alive, 64 connections: req/s >= 1.3x wrk's",
                     c64, "flurry-bench", "wrk", rep, "median req/s", "server CPU")
        cpu_and_rate("canned, pipelined 8 deep: client CPU per request <= 0.8x wrk's",
                     "canned, pipelined 8 deep: req/s >= 1.3x wrk's",
                     c64, "flurry-bench-p8", "wrk-p8", rep, "median req/s", "server CPU")

        def ratio(name, target, at_least, report, note=""):
            rr = row(c64_ratios or [], name)
            if not rr:
                return
            add(target, "%s: %s (per round %s)%s" % (name, rr["medians"], rr["per round"], note),
                num(rr["medians"]) >= at_least and num(rr["per round"]) >= at_least, report)

        st, post = row(c64, "flurry-bench-static"), row(c64, "flurry-bench-post")
        ratio("flurry-bench-static / flurry-bench-post",
              "-s with a script that only sets method, body, headers: req/s within 5% of the same request without -s",
              0.95, rep, "; %s vs %s req/s" % (st["median req/s"], post["median req/s"]) if st and post else "")
        ratio("flurry-bench-dynamic / flurry-bench",
              "-s with a request() function: req/s within 25% of the run without -s", 0.75, rep)
        ratio("flurry-bench-dynamic / wrk-dynamic", "-s with a request() function: req/s >= wrk's with the same script",
              1.0, rep)
        t1, t2 = row(c64, "flurry-bench"), row(c64, "flurry-bench-t2")
        if t1 and t2:
            add("(extra) -t 1 against -t 2 (both on the client's one CPU here)",
                "%s vs %s req/s; %s vs %s us CPU per request"
                % (t1["median req/s"], t2["median req/s"], pick(t1, "client CPU"), pick(t2, "client CPU")),
                "extra", rep)

    p = os.path.join(d, "tls-canned-c64.md")
    if os.path.exists(p):
        t = tables(p)[0]
        cpu_and_rate("canned, TLS keep-alive: client CPU per request <= 0.8x wrk's",
                     "canned, TLS keep-alive: req/s >= 1.3x wrk's", t, "flurry-bench", "wrk", "tls-canned-c64.md",
                     "median /s", "server CPU")
        cpu_and_rate("canned, TLS pipelined 8 deep: client CPU per request <= 0.8x wrk's",
                     "canned, TLS pipelined 8 deep: req/s >= 1.3x wrk's", t, "flurry-bench-p8", "wrk-p8",
                     "tls-canned-c64.md", "median /s", "server CPU")

    p = os.path.join(d, "instructions.md")
    if os.path.exists(p):
        t = tables(p)[0]
        p8, p1 = row(t, "pipelined 8 deep"), row(t, "unpipelined")
        if p8 and p1:
            add("user-space instructions per request, pipelined 8 deep <= 3,500 (callgrind)",
                "%s (wrk %s; unpipelined %s, wrk %s)" % (p8["flurry-bench"], p8["wrk"], p1["flurry-bench"], p1["wrk"]),
                num(p8["flurry-bench"]) is not None and num(p8["flurry-bench"]) <= 3500, "instructions.md")
        st, post, dyn = row(t, "static script (post.lua)"), row(t, "the same POST without -s"), \
            row(t, "request() script (query.lua)")
        if st and post and p1 and dyn:
            add("(extra) instructions per request: static script / the same request without -s; "
                "request() script / no script; request() script / wrk's",
                "%s / %s = %.2f; %s / %s = %.2f; %s / %s = %.2f"
                % (st["flurry-bench"], post["flurry-bench"], num(st["flurry-bench"]) / num(post["flurry-bench"]),
                   dyn["flurry-bench"], p1["flurry-bench"], num(dyn["flurry-bench"]) / num(p1["flurry-bench"]),
                   dyn["flurry-bench"], dyn["wrk"], num(dyn["flurry-bench"]) / num(dyn["wrk"])),
                "extra", "instructions.md")

    p = os.path.join(d, "seeds.md")
    if os.path.exists(p):
        t = tables(p)
        if len(t) >= 2:
            a, c = row(t[0], "flurry-async"), row(t[0], "curl-multi")
            if a and c:
                add("25 x /get (httpbin) in less time than libcurl multi",
                    "%s vs %s s (median of rounds %s)" % (a["median s"], c["median s"], pick(a, "/ libcurl multi (median")),
                    num(a["median s"]) < num(c["median s"]), "seeds.md")
            a = row(t[1], "flurry-async")
            if a:
                add("200 x /delay/1 at 200 concurrency <= 1.15 s", "%s s (min-max %s)" % (a["median s"], a["min-max s"]),
                    num(a["median s"]) <= 1.15, "seeds.md")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
