"""A stand-in for portmap_exporter in alerts/tests/scrape_test.sh: fixed /metrics (the local
vantage on a Docker host) and /probe?target=HOST:PORT (the external vantage), where every
target connects except port 5000. Python standard library only.
Usage: fake_exporter.py PORT"""
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

LOCAL = """\
portmap_exporter_build_info{version="test",revision="test",compiler="test"} 1
portmap_scrape_collector_success{collector="forwarding"} 1
portmap_scrape_collector_duration_seconds{collector="forwarding"} 0.001
portmap_probe_success{vantage="local",target="127.0.0.1:5000"} 1
portmap_probe_success{vantage="local",target="198.51.100.10:5000"} 1
portmap_probe_success{vantage="local",target="127.0.0.1:8080"} 1
portmap_probe_connect_seconds{vantage="local",target="127.0.0.1:5000"} 0.0002
portmap_probe_outcome{vantage="local",target="127.0.0.1:5000",outcome="connected"} 1
portmap_published_port_info{proto="tcp",host_ip="0.0.0.0",host_port="5000",container_ip="172.17.0.2",container_port="5000",backend="nftables"} 1
portmap_published_port_info{proto="tcp",host_ip="0.0.0.0",host_port="8080",container_ip="172.17.0.3",container_port="80",backend="nftables"} 1
portmap_published_port_info{proto="udp",host_ip="0.0.0.0",host_port="53",container_ip="",container_port="53",backend="docker_api"} 1
portmap_published_port_info{proto="tcp",host_ip="0.0.0.0",host_port="9000",container_ip="172.17.0.4",container_port="9000",backend="legacy"} 1
portmap_published_port_reachable_predicted{proto="tcp",host_port="5000"} 1
portmap_published_port_reachable_predicted{proto="tcp",host_port="8080"} 1
portmap_published_port_reachable_predicted{proto="tcp",host_port="9000"} 0
portmap_published_port_blocked{proto="tcp",host_port="9000",cause="foreign_rule_drop"} 1
portmap_published_port_blocked_info{proto="tcp",host_port="9000",cause="foreign_rule_drop",family="ipv4",interface="eth0",client="203.0.113.7",outcome="timeout",place="nf_tables inet filter forward: policy drop",backend="nf_tables",table_family="inet",table="filter",chain="forward",handle="",comment=""} 1
portmap_published_port_prediction_unknown_info{proto="udp",host_port="53",family="ipv4",interface="eth0",reason="nat redirect is not modelled"} 1
portmap_ip_forward_enabled{family="ipv4"} 1
portmap_ip_forward_persisted{family="ipv4"} 1
portmap_ip_forward_persisted_info{family="ipv4",file="/etc/sysctl.d/99-docker.conf",value="1"} 1
portmap_ip_forward_changes_total{family="ipv4"} 0
portmap_firewalld_up 1
portmap_firewalld_start_time_seconds 1000
portmap_dockerd_up 1
portmap_dockerd_start_time_seconds 2000
portmap_firewalld_port_allowed{proto="tcp",port="5000",zone="public"} 1
portmap_firewalld_port_allowed_approximate{proto="tcp",port="5000",zone="public"} 0
portmap_firewalld_interface_zone_info{interface="eth0",zone="public"} 1
portmap_firewalld_reloads_total 0
portmap_firewalld_restarts_total 0
portmap_netfilter_chain_present{backend="nftables",family="ipv4",table="nat",chain="DOCKER"} 1
portmap_netfilter_chain_rules{backend="nftables",family="ipv4",table="nat",chain="DOCKER"} 2
portmap_netfilter_chain_policy_accept{backend="nftables",family="ipv4",table="filter",chain="FORWARD"} 0
portmap_netfilter_chain_deletions_total{family="ipv4",table="nat",chain="DOCKER"} 0
"""


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/metrics":
            body = LOCAL
        elif url.path == "/probe":
            target = parse_qs(url.query).get("target", [""])[0]
            ok = 0 if target.endswith(":5000") else 1
            outcome = "connected" if ok else "timeout"
            body = (f'portmap_probe_success{{vantage="external",target="{target}"}} {ok}\n'
                    f'portmap_probe_connect_seconds{{vantage="external",target="{target}"}} {0.001 if ok else 1}\n'
                    f'portmap_probe_outcome{{vantage="external",target="{target}",outcome="{outcome}"}} 1\n')
        else:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
