// The D-Bus reply decoders (collectors/dbus/decode.h) on messages built by
// sd-bus itself: sd-bus refuses to create a message without a bus, but a bus
// started on one end of a socketpair is enough — it never sends anything, and
// sd_bus_message_seal() turns an appended message into a readable one, in the
// same wire format as a reply from firewalld.
#include "collectors/dbus/decode.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace portmap::dbus {
namespace {

class DecodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_), 0);
    ASSERT_GE(sd_bus_new(&bus_), 0);
    ASSERT_GE(sd_bus_set_fd(bus_, fds_[0], fds_[0]), 0);
    ASSERT_GE(sd_bus_start(bus_), 0);
  }
  void TearDown() override {
    sd_bus_close_unref(bus_);  // closes fds_[0]
    close(fds_[1]);
  }

  // A fresh message to append a body to.
  Message New() {
    Message m;
    EXPECT_GE(sd_bus_message_new_method_call(bus_, m.out(), "org.example", "/", "org.example", "M"),
              0);
    return m;
  }
  static void Seal(const Message& m) { ASSERT_GE(sd_bus_message_seal(m.get(), 1, 0), 0); }

  sd_bus* bus_ = nullptr;
  int fds_[2] = {-1, -1};
};

TEST_F(DecodeTest, String) {
  Message m = New();
  ASSERT_GE(sd_bus_message_append(m.get(), "s", "public"), 0);
  Seal(m);
  std::string s;
  ASSERT_TRUE(DecodeString(m.get(), &s).ok());
  EXPECT_EQ(s, "public");
  // Decoding rewinds: a second read sees the same value.
  ASSERT_TRUE(DecodeString(m.get(), &s).ok());
  EXPECT_EQ(s, "public");
}

TEST_F(DecodeTest, BoolAndUint32) {
  Message b = New();
  ASSERT_GE(sd_bus_message_append(b.get(), "b", 1), 0);
  Seal(b);
  bool owned = false;
  ASSERT_TRUE(DecodeBool(b.get(), &owned).ok());
  EXPECT_TRUE(owned);

  Message u = New();
  ASSERT_GE(sd_bus_message_append(u.get(), "u", 4242u), 0);
  Seal(u);
  uint32_t pid = 0;
  ASSERT_TRUE(DecodeUint32(u.get(), &pid).ok());
  EXPECT_EQ(pid, 4242u);
}

TEST_F(DecodeTest, VariantStringIsAPropertyGet) {
  Message m = New();
  ASSERT_GE(sd_bus_message_append(m.get(), "v", "s", "RUNNING"), 0);
  Seal(m);
  std::string state;
  ASSERT_TRUE(DecodeVariantString(m.get(), &state).ok());
  EXPECT_EQ(state, "RUNNING");
}

TEST_F(DecodeTest, WrongSignatureIsEbadmsgNamingBoth) {
  Message m = New();
  ASSERT_GE(sd_bus_message_append(m.get(), "v", "b", 1), 0);  // a bool property
  Seal(m);
  std::string s;
  CallStatus st = DecodeVariantString(m.get(), &s);  // v of b: read fails
  EXPECT_FALSE(st.ok());

  Message n = New();
  ASSERT_GE(sd_bus_message_append(n.get(), "u", 1u), 0);
  Seal(n);
  st = DecodeString(n.get(), &s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.err, EBADMSG);
  EXPECT_NE(st.message.find("'u', want 's'"), std::string::npos) << st.message;
  EXPECT_FALSE(DecodeString(nullptr, &s).ok());
}

// getActiveZones on the lab host with Docker's zone: two zones, one with
// interfaces only, one with interfaces and sources.
TEST_F(DecodeTest, ActiveZones) {
  Message m = New();
  ASSERT_GE(sd_bus_message_append(m.get(), "a{sa{sas}}", 2,                 //
                                  "docker", 1, "interfaces", 1, "docker0",  //
                                  "public", 2, "interfaces", 2, "eth0", "eth1", "sources", 1,
                                  "192.0.2.0/24"),
            0);
  Seal(m);
  NameToLists zones;
  ASSERT_TRUE(DecodeNameToLists(m.get(), &zones).ok());
  ASSERT_EQ(zones.size(), 2u);
  EXPECT_EQ(zones["docker"]["interfaces"], std::vector<std::string>{"docker0"});
  EXPECT_EQ(zones["public"]["interfaces"], (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_EQ(zones["public"]["sources"], std::vector<std::string>{"192.0.2.0/24"});
}

TEST_F(DecodeTest, EmptyActiveZones) {
  Message m = New();
  ASSERT_GE(sd_bus_message_append(m.get(), "a{sa{sas}}", 0), 0);
  Seal(m);
  NameToLists zones;
  ASSERT_TRUE(DecodeNameToLists(m.get(), &zones).ok());
  EXPECT_TRUE(zones.empty());
}

// getZoneSettings2("public") after `firewall-cmd --add-port=5000/tcp`, in the
// shape firewalld 1.3 sends: keys of every type the collector reads, plus an
// "i" (a policy's priority) it must skip.
TEST_F(DecodeTest, ZoneSettingsDictionary) {
  Message m = New();
  ASSERT_GE(sd_bus_message_append(
                m.get(), "a{sv}", 8,                                                //
                "target", "s", "default",                                           //
                "services", "as", 2, "ssh", "dhcpv6-client",                        //
                "ports", "a(ss)", 1, "5000", "tcp",                                 //
                "forward_ports", "a(ssss)", 1, "8080", "tcp", "80", "203.0.113.2",  //
                "rules_str", "as", 1, "rule family=\"ipv4\" source address=\"192.0.2.1\" accept",
                "masquerade", "b", 0,  //
                "priority", "i", -1,   //
                "short", "s", "Public"),
            0);
  Seal(m);
  Settings s;
  ASSERT_TRUE(DecodeSettings(m.get(), &s).ok());
  EXPECT_EQ(s.strings["target"], "default");
  EXPECT_EQ(s.strings["short"], "Public");
  EXPECT_EQ(s.lists["services"], (std::vector<std::string>{"ssh", "dhcpv6-client"}));
  ASSERT_EQ(s.pairs["ports"].size(), 1u);
  EXPECT_EQ(s.pairs["ports"][0], (std::pair<std::string, std::string>{"5000", "tcp"}));
  ASSERT_EQ(s.quads["forward_ports"].size(), 1u);
  EXPECT_EQ(s.quads["forward_ports"][0][3], "203.0.113.2");
  EXPECT_EQ(s.lists["rules_str"].size(), 1u);
  EXPECT_FALSE(s.bools["masquerade"]);
  EXPECT_EQ(s.strings.count("priority"), 0u);
}

TEST_F(DecodeTest, SettingsOfTheWrongShape) {
  Message m = New();
  ASSERT_GE(sd_bus_message_append(m.get(), "a{ss}", 1, "target", "ACCEPT"), 0);
  Seal(m);
  Settings s;
  EXPECT_EQ(DecodeSettings(m.get(), &s).err, EBADMSG);
}

TEST(TimeoutUsecTest, NeverZeroBeforeTheDeadlineZeroAfter) {
  const auto now = Clock::now();
  EXPECT_EQ(TimeoutUsec(now + std::chrono::seconds(2), now), 2000000u);
  EXPECT_EQ(TimeoutUsec(now + std::chrono::nanoseconds(10), now), 1u);  // 0 = sd-bus default
  EXPECT_EQ(TimeoutUsec(now, now), 0u);
  EXPECT_EQ(TimeoutUsec(now - std::chrono::seconds(1), now), 0u);
}

TEST(ConnectionTest, ExpiredDeadlineFailsWithoutTouchingTheBus) {
  CallStatus st;
  Connection c = Connection::OpenSystem(Clock::now() - std::chrono::seconds(1), &st);
  EXPECT_FALSE(c.connected());
  EXPECT_TRUE(st.timed_out());
  Message reply;
  st = c.Call({"a.b", "/", "a.b", "M", {}}, Clock::now() + std::chrono::seconds(1), &reply);
  EXPECT_EQ(st.err, ENOTCONN);
}

}  // namespace
}  // namespace portmap::dbus
