// ImageStores: the image subsystem's stores under one data root (content/, berth.db,
// snapshots/) opened together, and the unpacking of loaded or imported images. Shared wiring of
// berthd and berth-image.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "image/content/content_store.h"
#include "image/image_service.h"
#include "image/metadata.h"
#include "image/snapshot/snapshotter.h"

namespace berth::daemon {

// Owns the stores; `service` points into them, so the struct is moved only as a whole.
// Thread-safety is that of the stores (all safe for concurrent use).
struct ImageStores {
  std::unique_ptr<image::ContentStore> content;
  std::unique_ptr<image::MetadataStore> meta;
  std::unique_ptr<image::Snapshotter> snapshots;
  std::unique_ptr<image::ImageService> service;
};

// Creates `root` (0700) when missing and opens the stores in it. `containers` may be null.
base::Result<ImageStores> OpenImageStores(const std::string& root,
                                          image::ContainerUsage* containers = nullptr);

// Unpacks every layer of a loaded or imported image into snapshots (what a pull does as it
// goes). Layers already unpacked are reused.
base::Status UnpackImage(ImageStores& stores, const image::ImageRecord& record);

}  // namespace berth::daemon
