// portmap_exporter: see README.md.
#include <malloc.h>

#include "collectors/registry.h"
#include "exporter/exporter.h"

namespace {

// glibc's defaults suit a process that keeps what it allocates; a scrape
// allocates a few MiB (rule dumps, the exposition) and frees them all.
// Measured with bench/compare.sh: 28.5 MiB RSS 60 s after 64 concurrent
// scrapers with the defaults, 20.3 MiB with these.
// Called first in main, before any thread exists (mallopt is not thread-safe).
// NOLINTBEGIN(concurrency-mt-unsafe)
void TuneMalloc() {
  // Each thread that allocates may otherwise get an arena of its own (up to
  // 8 per core), and freed memory stays in whichever arena held it.
  mallopt(M_ARENA_MAX, 2);
  // A fixed threshold: glibc would otherwise raise it to the largest block
  // ever freed (up to 32 MiB), after which a scrape's big buffers come from
  // the heap and are never returned.
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  // Return a heap's free top once it passes this, not 128 KiB doubled on
  // every mmap threshold change.
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}
// NOLINTEND(concurrency-mt-unsafe)

}  // namespace

int main(int argc, char** argv) {
  TuneMalloc();
  return portmap::RunExporter(argc, argv, portmap::BuiltinCollectors());
}
