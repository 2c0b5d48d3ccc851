// berth-runtime: an OCI runtime with runc's command line.
#include "runtime_cli.h"

int main(int argc, char** argv) { return berth::cmd::RuntimeMain(argc, argv); }
