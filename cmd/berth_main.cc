// berth: the command-line client of berthd. See src/cli/cli.h.
#include "cli/cli.h"

int main(int argc, char** argv) { return berth::cli::Main(argc, argv); }
