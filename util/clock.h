// The one clock of deadlines and durations: monotonic, so a wall-clock step
// (NTP, a manual date) never expires or stretches a scrape.
#pragma once

#include <chrono>

namespace portmap {

using Clock = std::chrono::steady_clock;

}  // namespace portmap
