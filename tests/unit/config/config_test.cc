#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "config/config_yaml.h"

namespace portmap {
namespace {

using std::chrono::milliseconds;
using testing::HasSubstr;
using testing::StartsWith;

// Parses `yaml` as "f.yml" and returns the error, failing if there is none.
std::string ParseError(const std::string& yaml) {
  ProbeConfig config;
  Status status = ParseConfig(yaml, "f.yml", &config);
  EXPECT_FALSE(status.ok()) << "no error for:\n" << yaml;
  return status.message();
}

ProbeConfig ParseOk(const std::string& yaml) {
  ProbeConfig config;
  Status status = ParseConfig(yaml, "f.yml", &config);
  EXPECT_TRUE(status.ok()) << status.message();
  return config;
}

void ExpectDefaults(const ProbeConfig& config) {
  ASSERT_EQ(config.modules.size(), 1u);
  const ProbeModule& module = config.modules.at(kDefaultModule);
  EXPECT_EQ(module.timeout, milliseconds(5000));
  EXPECT_EQ(module.preferred_ip_protocol, IpProtocol::kIp4);
  EXPECT_TRUE(module.ip_protocol_fallback);
  EXPECT_EQ(module.source_ip_address, "");
  EXPECT_FALSE(module.histogram);
  EXPECT_TRUE(config.targets.empty());
  EXPECT_TRUE(config.netfilter.enabled);
  EXPECT_EQ(config.netfilter.module, kDefaultModule);
  EXPECT_EQ(config.netfilter.exclude_interfaces.text(), kDefaultExcludeInterfaces);
  EXPECT_FALSE(config.docker.enabled);
  EXPECT_EQ(config.docker.socket, "/var/run/docker.sock");
  EXPECT_TRUE(config.verdict.sources.empty());
  EXPECT_TRUE(config.verdict.interfaces.empty());
  EXPECT_TRUE(config.verdict.ports.empty());
}

std::string WriteFile(const std::string& name, const std::string& text) {
  std::string path = testing::TempDir() + "config_test_" + name;
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return path;
}

constexpr char kFull[] = R"(# Every key.
modules:
  tcp_connect:
    prober: tcp
    timeout: 1m30s
    histogram: true
    tcp:
      preferred_ip_protocol: ip6
      ip_protocol_fallback: false
      source_ip_address: 198.51.100.1
  fast:
    timeout: 500ms
targets:
  - target: registry.example.com:5000
    labels: {service: registry, env: prod}
  - target: '[2001:db8::1]:443'
    module: fast
  - target: registry.example.com:5000
    module: fast
discovery:
  netfilter: {enabled: false, module: fast, exclude_interfaces: 'docker[0-9]+'}
  docker: {enabled: true, socket: /run/docker.sock, module: fast}
)";

TEST(ConfigParseTest, FullConfig) {
  ProbeConfig config = ParseOk(kFull);
  ASSERT_EQ(config.modules.size(), 2u);
  const ProbeModule& tcp = config.modules.at("tcp_connect");
  EXPECT_EQ(tcp.timeout, milliseconds(90000));
  EXPECT_EQ(tcp.preferred_ip_protocol, IpProtocol::kIp6);
  EXPECT_FALSE(tcp.ip_protocol_fallback);
  EXPECT_EQ(tcp.source_ip_address, "198.51.100.1");
  EXPECT_TRUE(tcp.histogram);
  const ProbeModule& fast = config.modules.at("fast");
  EXPECT_EQ(fast.timeout, milliseconds(500));
  EXPECT_EQ(fast.preferred_ip_protocol, IpProtocol::kIp4);
  EXPECT_TRUE(fast.ip_protocol_fallback);
  EXPECT_FALSE(fast.histogram) << "off unless the module says so";

  ASSERT_EQ(config.targets.size(), 3u);
  EXPECT_EQ(config.targets[0].target, "registry.example.com:5000");
  EXPECT_EQ(config.targets[0].module, "tcp_connect");
  using Labels = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(config.targets[0].labels, (Labels{{"env", "prod"}, {"service", "registry"}}));
  EXPECT_EQ(config.targets[1].target, "[2001:db8::1]:443");
  EXPECT_EQ(config.targets[1].module, "fast");
  EXPECT_TRUE(config.targets[1].labels.empty());
  EXPECT_EQ(config.targets[2].module, "fast");

  EXPECT_FALSE(config.netfilter.enabled);
  EXPECT_EQ(config.netfilter.module, "fast");
  EXPECT_EQ(config.netfilter.exclude_interfaces.text(), "docker[0-9]+");
  EXPECT_TRUE(config.netfilter.exclude_interfaces.FullMatch("docker0"));
  EXPECT_FALSE(config.netfilter.exclude_interfaces.FullMatch("br-0123456789ab"));
  EXPECT_TRUE(config.docker.enabled);
  EXPECT_EQ(config.docker.socket, "/run/docker.sock");
  EXPECT_EQ(config.docker.module, "fast");
}

TEST(ConfigParseTest, EmptyFileIsDefaults) {
  ExpectDefaults(ParseOk(""));
  ExpectDefaults(ParseOk("# nothing but a comment\n\n# and another\n"));
  ExpectDefaults(ParseOk("---\n"));
  ExpectDefaults(ParseOk("modules:\ntargets: []\ndiscovery: {netfilter: {}, docker:}\n"));
}

TEST(ConfigParseTest, ExampleFileIsTheDefaults) {
  // deploy/portmap.yml documents every key at its default value.
  ProbeConfig config;
  const std::string path = std::string(PORTMAP_FIXTURES) + "/../../deploy/portmap.yml";
  Status status = LoadConfigFile(path, &config);
  ASSERT_TRUE(status.ok()) << status.message();
  ExpectDefaults(config);
}

TEST(ConfigParseTest, DefaultModuleAddedOrRedefined) {
  ProbeConfig config = ParseOk("modules:\n  other: {timeout: 2s}\n");
  ASSERT_EQ(config.modules.size(), 2u);
  EXPECT_EQ(config.modules.at(kDefaultModule).timeout, milliseconds(5000));
  EXPECT_EQ(config.modules.at("other").timeout, milliseconds(2000));

  config = ParseOk("modules:\n  tcp_connect: {timeout: 2s}\n");
  ASSERT_EQ(config.modules.size(), 1u);
  EXPECT_EQ(config.modules.at(kDefaultModule).timeout, milliseconds(2000));
}

TEST(ConfigParseTest, ModulesMayFollowTargets) {
  ProbeConfig config = ParseOk("targets: [{target: 'a:1', module: m}]\nmodules: {m: {}}\n");
  ASSERT_EQ(config.targets.size(), 1u);
  EXPECT_EQ(config.targets[0].module, "m");
}

TEST(ConfigErrorTest, UnknownKeys) {
  EXPECT_EQ(ParseError("targets:\n  - target: a:1\n    module: tcp_connect\n    bogus: x\n"),
            "f.yml:4:5: unknown key \"bogus\" in targets[0]");
  EXPECT_EQ(ParseError("modules:\n  tcp_connect:\n    tcp:\n      bogus: 1\n"),
            "f.yml:4:7: unknown key \"bogus\" in modules.tcp_connect.tcp");
  EXPECT_EQ(ParseError("modules: {}\nscrape_configs: []\n"),
            "f.yml:2:1: unknown key \"scrape_configs\" in the top level");
  EXPECT_EQ(ParseError("modules:\n  m:\n    timeot: 5s\n"),
            "f.yml:3:5: unknown key \"timeot\" in modules.m");
  EXPECT_EQ(ParseError("discovery:\n  netfilter:\n    enable: true\n"),
            "f.yml:3:5: unknown key \"enable\" in discovery.netfilter");
  EXPECT_EQ(ParseError("discovery:\n  consul: {}\n"),
            "f.yml:2:3: unknown key \"consul\" in discovery");
}

TEST(ConfigErrorTest, DuplicateKey) {
  EXPECT_EQ(ParseError("modules:\n  m: {}\n  m: {}\n"),
            "f.yml:3:3: duplicate key \"m\" in modules");
}

TEST(ConfigErrorTest, Durations) {
  EXPECT_THAT(ParseError("modules:\n  m:\n    timeout: 5x\n"),
              StartsWith("f.yml:3:14: timeout: invalid duration \"5x\": unknown unit \"x\""));
  EXPECT_THAT(ParseError("modules:\n  m:\n    timeout: 1.5s\n"), StartsWith("f.yml:3:14: "));
  EXPECT_EQ(ParseError("modules:\n  m:\n    timeout: 0s\n"),
            "f.yml:3:14: timeout \"0s\" must be > 0 and at most 1h");
  EXPECT_EQ(ParseError("modules:\n  m:\n    timeout: 1h1ms\n"),
            "f.yml:3:14: timeout \"1h1ms\" must be > 0 and at most 1h");
  EXPECT_THAT(ParseError("modules:\n  m:\n    timeout: {a: 1}\n"),
              StartsWith("f.yml:3:14: timeout must be a duration (5s), not a mapping"));
}

TEST(ConfigErrorTest, UnsupportedProbers) {
  EXPECT_EQ(ParseError("modules:\n  m:\n    prober: http\n"),
            "f.yml:3:13: prober \"http\" is not supported: only the tcp prober is supported");
  EXPECT_EQ(ParseError("modules:\n  m:\n    http: {}\n"),
            "f.yml:3:5: http is not supported: only the tcp prober is supported");
  EXPECT_EQ(ParseError("modules:\n  m:\n    tcp:\n      tls: true\n"),
            "f.yml:4:7: tls is not supported: the tcp probe only connects");
  EXPECT_THAT(ParseError("modules:\n  m:\n    tcp:\n      query_response: []\n"),
              StartsWith("f.yml:4:7: query_response is not supported"));
  EXPECT_THAT(ParseError("modules:\n  m:\n    tcp:\n      tls_config: {}\n"),
              StartsWith("f.yml:4:7: tls_config is not supported"));
}

TEST(ConfigErrorTest, TcpValues) {
  EXPECT_EQ(ParseError("modules:\n  m:\n    tcp: {preferred_ip_protocol: ipv6}\n"),
            "f.yml:3:34: preferred_ip_protocol must be ip4 or ip6, not \"ipv6\"");
  EXPECT_EQ(ParseError("modules:\n  m:\n    tcp: {ip_protocol_fallback: yes}\n"),
            "f.yml:3:33: ip_protocol_fallback must be true or false, not \"yes\"");
  EXPECT_EQ(ParseError("modules:\n  m:\n    tcp: {source_ip_address: eth0}\n"),
            "f.yml:3:30: source_ip_address \"eth0\" is not a literal IPv4 or IPv6 address");
}

TEST(ConfigErrorTest, Histogram) {
  EXPECT_EQ(ParseError("modules:\n  m:\n    histogram: yes\n"),
            "f.yml:3:16: histogram must be true or false, not \"yes\"");
  EXPECT_EQ(ParseError("modules:\n  m:\n    histogram: [true]\n"),
            "f.yml:3:16: histogram must be true or false, not a list");
  EXPECT_EQ(ParseError("modules:\n  m:\n    tcp: {histogram: true}\n"),
            "f.yml:3:11: unknown key \"histogram\" in modules.m.tcp");
}

TEST(ConfigErrorTest, Targets) {
  EXPECT_THAT(ParseError("targets:\n  - target: example.com\n"),
              StartsWith("f.yml:2:13: target \"example.com\": "));
  EXPECT_THAT(ParseError("targets:\n  - target: example.com\n"), HasSubstr("port"));
  EXPECT_THAT(ParseError("targets:\n  - target: example.com:0\n"),
              StartsWith("f.yml:2:13: target \"example.com:0\": port \"0\" is not a number"));
  EXPECT_THAT(ParseError("targets:\n  - target: example.com:99999\n"),
              HasSubstr("is not a number in 1..65535"));
  EXPECT_THAT(ParseError("targets:\n  - target: example.com:http\n"),
              HasSubstr("is not a number in 1..65535"));
  EXPECT_THAT(ParseError("targets:\n  - target: ':5000'\n"), HasSubstr("empty host"));
  EXPECT_THAT(ParseError("targets:\n  - target: '2001:db8::1:443'\n"), HasSubstr("brackets"));
  EXPECT_THAT(ParseError("targets:\n  - target: '[example.com]:443'\n"),
              HasSubstr("not a bracketed IPv6 address"));
  EXPECT_THAT(ParseError("targets:\n  - target: 'a b:1'\n"), HasSubstr("whitespace"));
  EXPECT_THAT(ParseError("targets:\n  - target: ''\n"), StartsWith("f.yml:2:13: target \"\": "));
  EXPECT_EQ(ParseError("targets:\n  - module: tcp_connect\n"),
            "f.yml:2:5: targets[0]: target is required");
  EXPECT_EQ(ParseError("targets:\n  - a:1\n"),
            "f.yml:2:5: targets[0] must be a mapping, not a scalar");
  EXPECT_EQ(ParseError("targets: {target: 'a:1'}\n"),
            "f.yml:1:10: targets must be a list, not a mapping");
  EXPECT_EQ(ParseError("targets:\n  - target: a:1\n    module: nope\n"),
            "f.yml:3:13: module \"nope\" is not defined in modules");
  EXPECT_EQ(ParseError("targets:\n  - target: a:1\n  - target: a:1\n"),
            "f.yml:3:13: duplicate target \"a:1\" with module \"tcp_connect\" (first on line 2)");
}

TEST(ConfigErrorTest, Labels) {
  EXPECT_THAT(ParseError("targets:\n  - target: a:1\n    labels: {1x: a}\n"),
              StartsWith("f.yml:3:14: label name \"1x\" is not a Prometheus label name"));
  EXPECT_THAT(ParseError("targets:\n  - target: a:1\n    labels: {a-b: a}\n"),
              HasSubstr("is not a Prometheus label name"));
  EXPECT_THAT(ParseError("targets:\n  - target: a:1\n    labels: {__meta: a}\n"),
              StartsWith("f.yml:3:14: label name \"__meta\" is reserved"));
  for (const char* name : {"vantage", "target", "outcome"}) {
    EXPECT_THAT(
        ParseError("targets:\n  - target: a:1\n    labels: {" + std::string(name) + ": x}\n"),
        HasSubstr("is reserved"))
        << name;
  }
  EXPECT_EQ(ParseError("targets:\n  - target: a:1\n    labels: {a: [1]}\n"),
            "f.yml:3:17: label a must be a string, not a list");
  EXPECT_EQ(ParseOk("targets:\n  - target: a:1\n    labels: {job: x, instance: y}\n")
                .targets[0]
                .labels.size(),
            2u);
}

TEST(ConfigErrorTest, Discovery) {
  EXPECT_THAT(ParseError("discovery:\n  netfilter:\n    exclude_interfaces: 'docker('\n"),
              StartsWith("f.yml:3:25: exclude_interfaces \"docker(\" is not a valid regular"));
  EXPECT_EQ(ParseError("discovery:\n  netfilter: {module: nope}\n"),
            "f.yml:2:23: module \"nope\" is not defined in modules");
  EXPECT_EQ(ParseError("discovery:\n  docker: {socket: docker.sock}\n"),
            "f.yml:2:20: socket \"docker.sock\" must be an absolute path");
  EXPECT_EQ(ParseError("discovery:\n  docker: {module: nope}\n"),
            "f.yml:2:20: module \"nope\" is not defined in modules");
  EXPECT_EQ(ParseError("discovery:\n  docker: {enabled: 1}\n"),
            "f.yml:2:21: enabled must be true or false, not \"1\"");
  EXPECT_EQ(ParseError("discovery:\n  docker:\n    enabled:\n"),
            "f.yml:3:5: enabled must be true or false, not nothing");
  EXPECT_EQ(ParseError("discovery: [netfilter]\n"),
            "f.yml:1:12: discovery must be a mapping, not a list");
}

TEST(ConfigErrorTest, Document) {
  EXPECT_EQ(ParseError("- modules\n"), "f.yml:1:1: the top level must be a mapping, not a list");
  EXPECT_EQ(ParseError("just a string\n"),
            "f.yml:1:1: the top level must be a mapping, not a scalar");
  EXPECT_THAT(ParseError("modules: {}\n---\nmodules: {}\n"),
              StartsWith("f.yml:3:1: only one YAML document is allowed"));
  EXPECT_THAT(ParseError("? [a]\n: b\n"), StartsWith("f.yml:1:3: a key in the top level"));
}

TEST(ConfigErrorTest, SyntaxErrorsHaveALocation) {
  // yaml-cpp's own exceptions, turned into the same FILE:LINE:COL: form.
  EXPECT_THAT(ParseError("modules:\n  m: {timeout: 5s\n"),
              testing::MatchesRegex("f\\.yml:[0-9]+:[0-9]+: .+"));
  EXPECT_THAT(ParseError("modules:\n\t m: {}\n"),
              testing::MatchesRegex("f\\.yml:[0-9]+:[0-9]+: .+"));
  EXPECT_THAT(ParseError("a: *nope\n"), testing::MatchesRegex("f\\.yml:1:[0-9]+: .+"));
}

TEST(ConfigDurationTest, PrometheusSyntax) {
  struct Case {
    const char* text;
    int64_t ms;
  };
  for (const Case& c :
       {Case{"0", 0}, Case{"500ms", 500}, Case{"5s", 5000}, Case{"1m", 60000}, Case{"1m30s", 90000},
        Case{"1h", 3600000}, Case{"1h2m3s4ms", 3723004}, Case{"1d", 86400000}}) {
    milliseconds out;
    Status status = config_yaml::ParseDuration(c.text, &out);
    ASSERT_TRUE(status.ok()) << c.text << ": " << status.message();
    EXPECT_EQ(out.count(), c.ms) << c.text;
  }
  for (const char* bad : {"", "5", "s", "1.5s", "5 s", "-1s", "30s1m", "1s1s", "5sec",
                          "99999999999999999999s", "9223372036854775807y"}) {
    milliseconds out;
    EXPECT_FALSE(config_yaml::ParseDuration(bad, &out).ok()) << bad;
  }
}

TEST(ConfigLoadFileTest, ReadsAndNamesTheFile) {
  const std::string path = WriteFile("load.yml", "modules:\n  m:\n    bogus: 1\n");
  ProbeConfig config;
  Status status = LoadConfigFile(path, &config);
  EXPECT_EQ(status.message(), path + ":3:5: unknown key \"bogus\" in modules.m");

  status = LoadConfigFile(testing::TempDir() + "config_test_missing.yml", &config);
  EXPECT_EQ(status.message(), "cannot read " + testing::TempDir() +
                                  "config_test_missing.yml: No such file or directory");

  status = LoadConfigFile(testing::TempDir(), &config);
  EXPECT_THAT(status.message(), StartsWith("cannot read " + testing::TempDir()));

  const std::string big = WriteFile("big.yml", "#" + std::string(5 << 20, 'x') + "\n");
  status = LoadConfigFile(big, &config);
  EXPECT_EQ(status.message(), "cannot read " + big + ": larger than 4 MiB");
  (void)std::remove(big.c_str());

  ASSERT_TRUE(LoadConfigFile(WriteFile("full.yml", kFull), &config).ok());
  EXPECT_EQ(config.targets.size(), 3u);
}

double Gauge(const ConfigReloader& reloader, const std::string& name) {
  for (const auto& family : reloader.Families()) {
    if (family.name == name) {
      EXPECT_EQ(family.type, prometheus::MetricType::Gauge);
      EXPECT_EQ(family.metric.size(), 1u);
      return family.metric.at(0).gauge.value;
    }
  }
  ADD_FAILURE() << "no family " << name;
  return -1;
}

constexpr char kSuccessful[] = "portmap_config_last_reload_successful";
constexpr char kTimestamp[] = "portmap_config_last_reload_success_timestamp_seconds";

TEST(ConfigReloaderTest, NoFileKeepsDefaults) {
  auto store = std::make_shared<ConfigStore>();
  auto before = store->Get();
  ConfigReloader reloader("", store);
  ASSERT_TRUE(reloader.Load().ok());
  ASSERT_TRUE(reloader.Reload().ok());
  EXPECT_EQ(store->Get(), before);
  EXPECT_EQ(Gauge(reloader, kSuccessful), 1);
  EXPECT_GT(Gauge(reloader, kTimestamp), 1.7e9);
}

TEST(ConfigReloaderTest, ReloadKeepsOldConfigOnError) {
  const std::string path = WriteFile("reload.yml", kFull);
  auto store = std::make_shared<ConfigStore>();
  ConfigReloader reloader(path, store);
  ASSERT_TRUE(reloader.Load().ok());
  auto loaded = store->Get();
  EXPECT_EQ(loaded->targets.size(), 3u);
  EXPECT_EQ(Gauge(reloader, kSuccessful), 1);
  const double loaded_at = Gauge(reloader, kTimestamp);
  EXPECT_GT(loaded_at, 1.7e9);

  WriteFile("reload.yml", "modules:\n  m:\n    timeout: forever\n");
  Status status = reloader.Reload();
  EXPECT_THAT(status.message(), StartsWith(path + ":3:14: timeout: invalid duration"));
  EXPECT_EQ(store->Get(), loaded);
  EXPECT_EQ(Gauge(reloader, kSuccessful), 0);
  EXPECT_EQ(Gauge(reloader, kTimestamp), loaded_at);

  WriteFile("reload.yml", "targets: [{target: 'b:2'}]\n");
  ASSERT_TRUE(reloader.Reload().ok());
  ASSERT_EQ(store->Get()->targets.size(), 1u);
  EXPECT_EQ(store->Get()->targets[0].target, "b:2");
  EXPECT_EQ(Gauge(reloader, kSuccessful), 1);
  EXPECT_GE(Gauge(reloader, kTimestamp), loaded_at);
}

// The exclude pattern is compiled with the configuration it belongs to: a
// reload swaps both at once, a scrape holding the old configuration keeps
// matching with the old pattern, and a pattern that does not compile fails
// the reload, not a scrape.
TEST(ConfigReloaderTest, ReloadSwapsTheCompiledExcludePattern) {
  auto file = [](const std::string& pattern) {
    return WriteFile("exclude.yml",
                     "discovery:\n  netfilter:\n    exclude_interfaces: '" + pattern + "'\n");
  };
  const std::string path = file("eth[0-9]+");
  auto store = std::make_shared<ConfigStore>();
  EXPECT_TRUE(store->Get()->netfilter.exclude_interfaces.FullMatch("docker0")) << "the default";
  ConfigReloader reloader(path, store);
  ASSERT_TRUE(reloader.Load().ok());
  const auto first = store->Get();
  EXPECT_TRUE(first->netfilter.exclude_interfaces.FullMatch("eth1"));
  EXPECT_FALSE(first->netfilter.exclude_interfaces.FullMatch("docker0"));
  EXPECT_FALSE(first->netfilter.exclude_interfaces.FullMatch("veth1")) << "a full match";

  file("wlan[0-9]+");
  ASSERT_TRUE(reloader.Reload().ok());
  const auto second = store->Get();
  EXPECT_EQ(second->netfilter.exclude_interfaces.text(), "wlan[0-9]+");
  EXPECT_TRUE(second->netfilter.exclude_interfaces.FullMatch("wlan0"));
  EXPECT_FALSE(second->netfilter.exclude_interfaces.FullMatch("eth1"));
  EXPECT_TRUE(first->netfilter.exclude_interfaces.FullMatch("eth1")) << "the old one is intact";

  file("wlan(");
  EXPECT_THAT(reloader.Reload().message(),
              StartsWith(path + ":3:25: exclude_interfaces \"wlan(\" is not a valid regular "
                                "expression: "));
  EXPECT_EQ(store->Get(), second);
}

TEST(ConfigReloaderTest, ConcurrentReloads) {
  // SIGHUP and POST /-/reload at once, while /metrics reads the gauges.
  auto store = std::make_shared<ConfigStore>();
  ConfigReloader reloader(WriteFile("concurrent.yml", kFull), store);
  auto reload = [&] {
    for (int i = 0; i < 20; ++i) EXPECT_TRUE(reloader.Reload().ok());
  };
  std::thread a(reload), b(reload);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(reloader.Families().size(), 2u);
  a.join();
  b.join();
  EXPECT_EQ(store->Get()->targets.size(), 3u);
  EXPECT_EQ(Gauge(reloader, kSuccessful), 1);
}

TEST(ConfigReloaderTest, FailedFirstLoad) {
  auto store = std::make_shared<ConfigStore>();
  ConfigReloader reloader(testing::TempDir() + "config_test_absent.yml", store);
  EXPECT_THAT(reloader.Load().message(), StartsWith("cannot read "));
  ExpectDefaults(*store->Get());
  EXPECT_EQ(Gauge(reloader, kSuccessful), 0);
  EXPECT_EQ(Gauge(reloader, kTimestamp), 0);
}

}  // namespace
}  // namespace portmap
