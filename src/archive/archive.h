// berth::archive, the whole public surface: byte streams, layer (de)compression, confined layer
// extraction and layer/tree writing. Depends on base and sys only.
#pragma once

#include "archive/compression.h"  // IWYU pragma: export
#include "archive/extract.h"      // IWYU pragma: export
#include "archive/stream.h"       // IWYU pragma: export
#include "archive/whiteout.h"     // IWYU pragma: export
#include "archive/write.h"        // IWYU pragma: export
