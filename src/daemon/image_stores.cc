// ImageStores: see image_stores.h.
#include "daemon/image_stores.h"

#include <optional>

#include "image/unpack.h"
#include "sys/file.h"

namespace berth::daemon {

base::Result<ImageStores> OpenImageStores(const std::string& root,
                                          image::ContainerUsage* containers) {
  TRY(sys::MkdirAll(root, 0700));
  ImageStores s;
  s.content =
      std::make_unique<image::ContentStore>(TRY(image::ContentStore::Open(root + "/content")));
  s.meta = TRY(image::MetadataStore::Open(root));
  s.snapshots = TRY(image::Snapshotter::Open(root + "/snapshots", s.meta.get()));
  s.service = std::make_unique<image::ImageService>(s.content.get(), s.meta.get(),
                                                    s.snapshots.get(), containers);
  return s;
}

base::Status UnpackImage(ImageStores& s, const image::ImageRecord& rec) {
  image::Unpacker unpacker(s.content.get(), s.snapshots.get());
  std::optional<oci::Digest> parent;
  for (const auto& layer : rec.layers) {
    oci::Descriptor d;
    d.media_type = layer.media_type;
    d.digest = layer.blob;
    d.size = layer.size;
    TRY(unpacker.Unpack(d, layer.diff_id, layer.chain_id, parent));
    parent = layer.chain_id;
  }
  return {};
}

}  // namespace berth::daemon
