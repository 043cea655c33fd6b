#!/usr/bin/env python3
"""What dashboards/portmap.json shows right after import, checked on a real Prometheus.

A user imports the dashboard and looks at it without touching a variable. This test does
the same without Grafana (not a Debian package): it loads known series into a real
Prometheus (promtool tsdb create-blocks-from openmetrics), gives every variable the value
Grafana gives it on a fresh import (below), runs every panel query as Grafana would send
it, and asserts what the panels show in the states that matter:

  dh1  the signature: connects locally, times out from outside; ip_forward off
  dh2  healthy, but the local connect is the slower one; a UDP port the verdict cannot decide
  dh3  firewalld rejects the port in zone public (refused from outside)
  dh4  Docker's DOCKER chain is gone and nothing serves the port (refused from outside)

The verdict's series are as the exporter writes them: portmap_published_port_blocked only
for the causes that hold (no 0 series), one portmap_published_port_blocked_info per
blocked path, portmap_published_port_prediction_unknown_info for an undecided path.

Grafana's import-time defaults, as its variable code does them: a query variable with no
saved `current` takes its first option; with includeAll that is "All", which becomes the
variable's allValue if it has one, else every option regex-escaped and joined as (a|b);
a single-value variable is its value. Options are the label values (label_values) or the
sample lines (query_result) through the variable's regex, sorted by its `sort`.
$__rate_interval is 1m (Grafana's minimum: 4 x a 15 s scrape interval). A range panel is
judged by its last point: the query at the end of the data.

  dashboards/tests/semantics_test.py [DASHBOARD_JSON]      exit 0 when every check holds
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
DASHBOARD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "portmap.json")
END = int(time.time()) // 60 * 60 - 120  # the data ends 2 minutes ago
START = END - 3600
STEP = 15

L = 'job="portmap",instance="{h}:9806",docker_host="{h}"'
# Where each blocked host's path stops: (outcome, place).
BLOCKED_PATH = {
    "dh1": ("timeout", "route lookup: forwarding is off on eth0"),
    "dh3": ("refused", "nf_tables ip filter IN_public: rule handle 12 rejects"),
    "dh4": ("refused", "nothing listens on 198.51.100.1:5000"),
}
X = 'job="portmap-external",instance="{h}:{p}",docker_host="{h}",port="{p}"'


def series():
    """(name, labels, value) of every synthetic series, constant over the hour."""
    out = []
    for h in ("dh1", "dh2", "dh3", "dh4"):
        loc = L.format(h=h)
        out += [("up", loc, 1), ("portmap_exporter_build_info", loc + ',version="0.1.0"', 1)]
        out.append(("portmap_ip_forward_enabled", loc + ',family="ipv4"', 0 if h == "dh1" else 1))
        out.append(("portmap_ip_forward_persisted", loc + ',family="ipv4"', 1))
        out.append(("portmap_firewalld_up", loc, 1 if h == "dh3" else 0))
        out.append(("portmap_netfilter_chain_present",
                    loc + ',backend="nftables",family="ipv4",table="nat",chain="DOCKER"',
                    0 if h == "dh4" else 1))
        out.append(("portmap_published_port_info", loc + ',proto="tcp",host_ip="0.0.0.0",'
                    'host_port="5000",port="5000",container_ip="172.17.0.2",'
                    'container_port="5000",backend="nftables"', 1))
        cause = {"dh1": "ip_forward_disabled", "dh3": "firewalld_port_closed",
                 "dh4": "docker_chain_missing"}.get(h)
        if cause:
            out.append(("portmap_published_port_blocked", loc + ',proto="tcp",host_port="5000",'
                        f'port="5000",cause="{cause}"', 1))
            outcome, place = BLOCKED_PATH[h]
            out.append(("portmap_published_port_blocked_info", loc + ',proto="tcp",host_port="5000",'
                        f'port="5000",cause="{cause}",family="ipv4",interface="eth0",'
                        f'client="203.0.113.7",outcome="{outcome}",place="{place}"', 1))
        out.append(("portmap_published_port_reachable_predicted",
                    loc + ',proto="tcp",host_port="5000",port="5000"', 0 if cause else 1))
        # Local vantage: connects everywhere (dh4 through docker-proxy).
        tgt = f'vantage="local",target="127.0.0.1:5000",port="5000"'
        out += [("portmap_probe_success", f"{loc},{tgt}", 1),
                ("portmap_probe_connect_seconds", f"{loc},{tgt}", 0.010 if h == "dh2" else 0.0004),
                ("portmap_probe_outcome", f'{loc},{tgt},outcome="connected"', 1)]
        # External vantage (the /probe job).
        ext = X.format(h=h, p=5000)
        outcome = {"dh1": "timeout", "dh3": "refused", "dh4": "refused"}.get(h, "connected")
        etgt = f'vantage="external",target="{h}:5000"'
        out += [("up", ext, 1),
                ("portmap_probe_success", f"{ext},{etgt}", 1 if outcome == "connected" else 0),
                ("portmap_probe_connect_seconds", f"{ext},{etgt}",
                 {"timeout": 5.0, "refused": 0.0008}.get(outcome, 0.002))]
        # One outcome series per target, the one that holds.
        out.append(("portmap_probe_outcome", f'{ext},{etgt},outcome="{outcome}"', 1))
    out.append(("portmap_firewalld_port_allowed",
                L.format(h="dh3") + ',proto="tcp",port="5000",zone="public"', 0))
    # dh2 also publishes 53/udp (found through the Engine API); its trace is undecided.
    dh2 = L.format(h="dh2")
    out.append(("portmap_published_port_info", dh2 + ',proto="udp",host_ip="0.0.0.0",'
                'host_port="53",port="53",container_port="53",backend="docker_api"', 1))
    out.append(("portmap_published_port_prediction_unknown_info", dh2 + ',proto="udp",'
                'host_port="53",port="53",family="ipv4",interface="eth0",'
                'reason="nat redirect is not modelled"', 1))
    out.append(("ALERTS", 'alertname="PortmapIPForwardDisabled",alertstate="firing",'
                'severity="critical",docker_host="dh1",family="ipv4"', 1))
    return out


def openmetrics():
    by_name = {}
    for name, labels, value in series():
        by_name.setdefault(name, []).append((labels, value))
    lines = []
    for name, rows in sorted(by_name.items()):
        lines.append(f"# TYPE {name} gauge")
        for t in range(START, END + 1, STEP):
            lines += [f"{name}{{{labels}}} {value} {t}" for labels, value in rows]
    return "\n".join(lines) + "\n# EOF\n"


class Prometheus:
    def __init__(self, tmp):
        data = os.path.join(tmp, "data")
        om = os.path.join(tmp, "series.om")
        with open(om, "w") as f:
            f.write(openmetrics())
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", om, data],
                       check=True, stdout=subprocess.DEVNULL)
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global: {}\n")
        for _ in range(5):  # a port taken between the probe and the bind: try another
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
            self.proc = subprocess.Popen(
                ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={data}",
                 f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prom.log"), "w"))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    urllib.request.urlopen(self.url + "/-/ready", timeout=1)
                    return
                except OSError:
                    time.sleep(0.2)
            self.stop()
        sys.exit("semantics_test: Prometheus did not start (see prom.log)")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def api(self, path, **params):
        url = f"{self.url}/api/v1/{path}?" + urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr):
        return self.api("query", query=expr, time=END)["result"]


# --- Grafana's variable semantics -----------------------------------------------------
def special_regex_escape(v):  # the Prometheus data source's prometheusSpecialRegexEscape
    return re.sub(r"[$^*{}\[\]'+?.()|]", lambda m: "\\\\" + m.group(0), v.replace("\\", "\\\\\\\\"))


def substitute(text, values):
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return values.get(name, m.group(0))
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]", repl, text)


def options_of(var, prom, values):
    q = var.get("query")
    q = q.get("query") if isinstance(q, dict) else q
    q = substitute(q, values)
    m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q)
    if m:
        found = prom.api("series", **{"match[]": m.group(1), "start": START, "end": END})
        raw = sorted({s[m.group(2)] for s in found if m.group(2) in s})
    elif (m := re.fullmatch(r"\s*query_result\((.*)\)\s*", q)):
        raw = []
        for s in prom.query(m.group(1)):
            labels = ", ".join(f'{k}="{v}"' for k, v in s["metric"].items() if k != "__name__")
            raw.append(f'{s["metric"].get("__name__", "")}{{{labels}}} {s["value"][1]} '
                       f'{int(float(s["value"][0]) * 1000)}')
    else:
        raise RuntimeError(f"variable {var['name']}: query {q!r} not emulated")
    rx = var.get("regex") or ""
    if rx:
        body = re.fullmatch(r"/(.*)/([a-z]*)", rx)
        pattern = re.compile(body.group(1) if body else rx)
        kept = []
        for o in raw:
            mm = pattern.search(o)
            if mm:
                kept.append(mm.group(1) if mm.groups() else o)
        raw = kept
    sort = var.get("sort", 0)
    if sort in (1, 2):
        raw.sort(reverse=sort == 2)
    elif sort in (3, 4):
        raw.sort(key=lambda o: float(re.search(r"-?\d+(\.\d+)?", o).group(0))
                 if re.search(r"\d", o) else float("nan"), reverse=sort == 4)
    elif sort in (5, 6):
        raw.sort(key=str.lower, reverse=sort == 6)
    return list(dict.fromkeys(raw))


def import_defaults(dash, prom):
    values = {}
    for var in dash["templating"]["list"]:
        if var["type"] == "datasource":
            continue  # one Prometheus here
        if var["type"] != "query":
            raise RuntimeError(f"variable {var['name']}: type {var['type']} not emulated")
        if var.get("current", {}).get("value") not in (None, ""):
            raise RuntimeError(f"variable {var['name']}: a saved current is not emulated")
        opts = options_of(var, prom, values)
        if var.get("includeAll"):
            if var.get("allValue"):
                values[var["name"]] = var["allValue"]
            else:
                esc = [special_regex_escape(o) for o in opts]
                values[var["name"]] = esc[0] if len(esc) == 1 else "(" + "|".join(esc) + ")"
        elif opts:
            values[var["name"]] = opts[0].replace("\\", "\\\\").replace("'", "\\\\'")
        else:
            values[var["name"]] = ""
    values.update({"__rate_interval": "1m", "__interval": "15s", "__range": "6h"})
    return values


# --- What the panels show ---------------------------------------------------------------
class Checks:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def expect(self, what, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}" + (f"\n      {detail}" if detail else ""), file=sys.stderr)


def main():
    dash = json.load(open(DASHBOARD))
    panels = {p["id"]: p for p in dash["panels"]}
    checks = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        prom = Prometheus(tmp)
        try:
            values = import_defaults(dash, prom)
            print("semantics_test: import-time values: " +
                  ", ".join(f"{k}={v!r}" for k, v in values.items() if not k.startswith("__")))

            def shown(pid, ref):
                """{frozen labels: value} of panel pid's query ref."""
                target = next(t for t in panels[pid]["targets"] if t["refId"] == ref)
                res = prom.query(substitute(target["expr"], values))
                return {frozenset(s["metric"].items()): float(s["value"][1]) for s in res}

            def value(pid, ref, **labels):
                vals = [v for k, v in shown(pid, ref).items()
                        if all((n, x) in k for n, x in labels.items())]
                return vals[0] if len(vals) == 1 else (None if not vals else vals)

            def eq(what, pid, ref, want, **labels):
                got = value(pid, ref, **labels)
                checks.expect(f"panel {pid} '{panels[pid]['title']}' {ref} {labels}: {what}",
                              got == want, f"shows {got}, want {want}")

            eq("the signature: local connects", 7, "A", 1, docker_host="dh1", port="5000")
            eq("the signature: external fails", 7, "B", 0, docker_host="dh1", port="5000")
            eq("firewalld rejects: external fails", 7, "B", 0, docker_host="dh3", port="5000")
            eq("healthy: external connects", 7, "B", 1, docker_host="dh2", port="5000")
            eq("external connect time is the external probe's", 8, "B", 0.002, docker_host="dh2")
            eq("local connect time is the local probe's", 8, "A", 0.010, docker_host="dh2")
            eq("external timeout lasts the timeout", 8, "B", 5.0, docker_host="dh1")
            up_ext = {dict(k).get("instance") for k in shown(29, "B")}
            checks.expect("panel 29 'Targets up' B: external targets only",
                          up_ext == {"dh1:5000", "dh2:5000", "dh3:5000", "dh4:5000"}, f"{up_ext}")
            up_loc = {dict(k).get("instance") for k in shown(29, "A")}
            checks.expect("panel 29 'Targets up' A: local exporters only",
                          up_loc == {f"dh{i}:9806" for i in range(1, 5)}, f"{up_loc}")
            rows = {(dict(k)["vantage"], dict(k)["docker_host"], dict(k)["outcome"])
                    for k in shown(9, "A")}
            checks.expect("panel 9 'Probe outcome now': each vantage's own outcome",
                          {("local", "dh1", "connected"), ("external", "dh1", "timeout"),
                           ("external", "dh3", "refused")} <= rows
                          and ("external", "dh1", "connected") not in rows, f"{sorted(rows)}")
            blocked = {(dict(k)["docker_host"], dict(k)["cause"]) for k in shown(2, "A")}
            checks.expect("panel 2 'Blocked published ports': exactly the blocked ones",
                          blocked == {("dh1", "ip_forward_disabled"), ("dh3", "firewalld_port_closed"),
                                      ("dh4", "docker_chain_missing")}, f"{sorted(blocked)}")
            for h, want in (("dh1", 0), ("dh2", 1), ("dh3", 0), ("dh4", 0)):
                eq("predicted reachable", 3, "A", want, docker_host=h, port="5000")
            eq("an undecided port has no prediction", 3, "A", None, docker_host="dh2", port="53")
            rows = {tuple(dict(k).get(n, "") for n in ("docker_host", "port", "cause", "outcome",
                                                        "place", "interface", "client", "reason"))
                    for k in shown(31, "A")}
            want_rows = {(h, "5000", c, o, p, "eth0", "203.0.113.7", "")
                         for h, c in (("dh1", "ip_forward_disabled"), ("dh3", "firewalld_port_closed"),
                                      ("dh4", "docker_chain_missing"))
                         for o, p in [BLOCKED_PATH[h]]}
            want_rows.add(("dh2", "53", "", "undecided", "", "eth0", "",
                           "nat redirect is not modelled"))
            checks.expect("panel 31 'Where each blocked path stops': every blocked path's place, "
                          "client and interface, and the undecided path's reason",
                          rows == want_rows, f"{sorted(rows)}\n      want {sorted(want_rows)}")
            ports = {(dict(k)["docker_host"], dict(k)["port"], dict(k)["backend"])
                     for k in shown(5, "A")}
            checks.expect("panel 5 'Published ports': every backend",
                          ("dh2", "53", "docker_api") in ports and ("dh1", "5000", "nftables") in ports,
                          f"{sorted(ports)}")
            eq("ip_forward off", 11, "A", 0, docker_host="dh1")
            eq("ip_forward on", 11, "A", 1, docker_host="dh2")
            eq("port rejected in zone public", 18, "A", 0, docker_host="dh3", zone="public")
            eq("firewalld running", 15, "A", 1, docker_host="dh3")
            eq("DOCKER chain missing", 22, "A", 0, docker_host="dh4", chain="DOCKER")
            eq("DOCKER chain present", 22, "A", 1, docker_host="dh2", chain="DOCKER")
            eq("the cause alert is listed", 4, "A", 1, alertname="PortmapIPForwardDisabled",
               docker_host="dh1")
            runbook = values.get("runbook_exporter", "")
            links = [substitute(link.get("url", ""), values) for link in dash.get("links", [])]
            checks.expect("the Runbook link opens a live exporter's /runbook",
                          runbook in {f"dh{i}:9806" for i in range(1, 5)}
                          and f"http://{runbook}/runbook" in links, f"{runbook!r}, links {links}")
        finally:
            prom.stop()
    print(f"semantics_test: {checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
