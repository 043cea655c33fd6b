// The unit tests' main: gtest's, after one thing every executable that loads
// YAML through the guard does first (config/config_guard.h): the guard's
// check process is this executable started again.
#include <gmock/gmock.h>

#include "config/config_guard.h"
#include "exporter/exporter.h"

int main(int argc, char** argv) {
  if (int code = 0; portmap::RunYamlCheckIfAsked(argc, argv, portmap::YamlCheckParsers(), &code)) {
    return code;
  }
  testing::InitGoogleMock(&argc, argv);
  return RUN_ALL_TESTS();
}
