// portmap_exporter: see README.md.
#include "collectors/registry.h"
#include "exporter/exporter.h"

int main(int argc, char** argv) {
  return portmap::RunExporter(argc, argv, portmap::BuiltinCollectors());
}
