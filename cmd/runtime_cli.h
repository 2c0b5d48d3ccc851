// berth-runtime's command line: runc's commands, flags, output shapes and exit codes.
#pragma once

namespace berth::cmd {

int RuntimeMain(int argc, char** argv);

}  // namespace berth::cmd
