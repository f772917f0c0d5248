#pragma once

#include <cstdint>
#include <string>
#include <string_view>

/// --command-log FILE: one line per `command` frame the drones of this process received,
///
///     command_id <TAB> attempt <TAB> wall clock in µs (CLOCK_REALTIME) when the frame was parsed
///
/// so that delivery (command issued → frame on the drone's socket) can be measured from outside the simulator on
/// the same machine (bench/commands.sh joins it with the times its load tool issued the commands). A frame lost to
/// --drop-rate is not logged; a doubled one once; `command_cancel` frames never. One log per process: the drones'
/// frames are parsed on every thread of the fleet. Nothing is written unless it was opened.
namespace dccs::sim::command_log {

/// Opens (truncates) `path`. False, with `error` set, when it cannot be written.
bool open(const std::string& path, std::string& error);
/// Notes that the frame of command `id`, attempt `attempt`, was received now. Nothing when no log is open.
void note(std::string_view id, std::uint64_t attempt) noexcept;
/// Writes what is buffered to the file (every progress report, and close).
void flush() noexcept;
/// Flushes and closes the log; notes are ignored from then on.
void close() noexcept;

/// One line of the log, newline included. Control characters of `id` are written as '?': a line stays one line
/// (the node's ids are UUIDs).
std::string format_line(std::string_view id, std::uint64_t attempt, std::int64_t wall_us);

} // namespace dccs::sim::command_log
