// Loading a model file: what is checked on the bytes before any field is trusted (identifier,
// checksum trailer, version, required features, the FlatBuffers verifier), then the graph's
// decoding, verification and preparation (load/file_graph.h).
#include <cstring>

#include "load/file_graph.h"
#include "mmoe/mmoe.h"
#include "model_data.h"

namespace mmoe {
namespace {

// The features this runtime implements (docs/model-format.md): every node kind of format 2.1,
// and 2.2's packed input row.
constexpr const char* kKnownFeatures[] = {"dense",        "activation_table", "softmax",   "mixture",
                                          "sigmoid",      "product",          "embedding", "concat",
                                          "packed_input", "int16_input"};

bool KnownFeature(const char* name) {
  for (const char* known : kKnownFeatures) {
    if (std::strcmp(name, known) == 0) return true;
  }
  return false;
}

uint32_t LoadLe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

// Where the FlatBuffer and the segments are (docs/model-format.md, "Layout", "Segments").
struct FileLayout {
  bool has_trailer = false;
  size_t flatbuffer_size = 0;
  bool segmented = false;   // a segment footer: the FlatBuffer's own CRC was checked, not the file's
  size_t segments_end = 0;  // segmented: where the footer starts
};

// The checksums (docs/model-format.md): whether the file has a trailer and whether it matches,
// checked before anything else is read, so that a damaged file is named as such rather than as
// whatever its damage happens to look like. A file with segments (embedding tables) ends in a
// segment footer before the trailer: then the footer's CRC of the FlatBuffer is checked, and
// the trailer's CRC of the whole file only with verify_tables, so that loading never reads
// the tables. A footer that does not check out is not one: the file is then checked whole.
Status CheckChecksums(const uint8_t* buf, size_t file_size, const LoadOptions& options, FileLayout* layout) {
  layout->has_trailer =
      file_size >= 8 + kChecksumTrailerSize && std::memcmp(buf + file_size - 4, kChecksumMagic, 4) == 0;
  layout->flatbuffer_size = layout->has_trailer ? file_size - kChecksumTrailerSize : file_size;
  if (!layout->has_trailer) return Status::Ok();
  const size_t body = file_size - kChecksumTrailerSize;  // what the trailer covers
  if (body >= 8 + kSegmentFooterSize && std::memcmp(buf + body - 4, kSegmentMagic, 4) == 0) {
    const uint8_t* footer = buf + body - kSegmentFooterSize;
    const uint64_t n = static_cast<uint64_t>(LoadLe32(footer)) | static_cast<uint64_t>(LoadLe32(footer + 4))
                                                                     << 32;
    const size_t end = body - kSegmentFooterSize;
    if (n >= 8 && n <= end &&
        (!options.verify_checksum || Crc32c(buf, static_cast<size_t>(n)) == LoadLe32(footer + 8))) {
      layout->segmented = true;
      layout->flatbuffer_size = static_cast<size_t>(n);
      layout->segments_end = end;
      if (!options.verify_tables) return Status::Ok();
    }
  }
  if (!options.verify_checksum) return Status::Ok();
  const uint32_t stored = LoadLe32(buf + body);
  const uint32_t computed = Crc32c(buf, body);
  if (stored != computed) {
    return Status::Error(StatusCode::kChecksumMismatch,
                         "model checksum mismatch: CRC-32C of its %zu bytes is 0x%08x but the trailer says "
                         "0x%08x; the file is damaged (failed download, storage corruption or tampering)",
                         body, computed, stored);
  }
  return Status::Ok();
}

// Reads the version with a verifier bounded to the root table's fields, before the full
// verification, so that a newer file gets a version message rather than "corrupt".
Status CheckVersion(const uint8_t* buf, size_t size, size_t file_size, bool has_trailer,
                    const LoadOptions& options, ModelData* data) {
  flatbuffers::Verifier v(buf, size);
  const flatbuffers::uoffset_t root_offset = flatbuffers::ReadScalar<flatbuffers::uoffset_t>(buf);
  if (root_offset % 4 != 0 || root_offset > size - 4) {
    return Status::Error(StatusCode::kCorruptModel,
                         "model file is corrupt: root offset %u is outside its %zu bytes", root_offset, size);
  }
  const auto* table = flatbuffers::GetRoot<flatbuffers::Table>(buf);
  const auto* root = flatbuffers::GetRoot<fb::Model>(buf);
  if (!table->VerifyTableStart(v) ||
      !table->VerifyField<uint16_t>(v, fb::Model::VT_FORMAT_VERSION_MAJOR, 2) ||
      !table->VerifyField<uint16_t>(v, fb::Model::VT_FORMAT_VERSION_MINOR, 2)) {
    return Status::Error(StatusCode::kCorruptModel, "model file is truncated or its root table is corrupt");
  }
  const unsigned major = root->format_version_major(), minor = root->format_version_minor();
  if (major > kFormatVersionMajor) {
    return Status::Error(StatusCode::kUnsupportedVersion,
                         "model format version %u.%u is newer than this runtime's %d.%d", major, minor,
                         kFormatVersionMajor, kFormatVersionMinor);
  }
  if (major == 0) {
    return Status::Error(StatusCode::kUnsupportedVersion, "model format version 0.%u is not supported",
                         minor);
  }
  // From 1.1 on the converter always writes the trailer: a file without one lost its end.
  if ((major > 1 || minor >= 1) && !has_trailer && options.verify_checksum) {
    return Status::Error(StatusCode::kChecksumMismatch,
                         "model format %u.%u ends in a CRC-32C trailer (\"MMCK\") but this file of %zu bytes "
                         "has none: it is truncated or damaged",
                         major, minor, file_size);
  }
  data->format_major = static_cast<int>(major);
  data->format_minor = static_cast<int>(minor);
  return Status::Ok();
}

Status CheckFeatures(const fb::Model* m) {
  if (!m->required_features()) return Status::Ok();
  for (const flatbuffers::String* feature : *m->required_features()) {
    if (!KnownFeature(feature->c_str())) {
      return Status::Error(
          StatusCode::kUnsupportedFeature,
          "model requires feature '%s', which this runtime (mmoe-edge %s, format %d.%d) does not "
          "implement; score it with a newer runtime",
          feature->c_str(), RuntimeVersion(), kFormatVersionMajor, kFormatVersionMinor);
    }
  }
  return Status::Ok();
}

}  // namespace

Status VerifyAndPrepare(std::unique_ptr<ModelBytes> bytes, const LoadOptions& options, ModelData* data) {
  const uint8_t* buf = bytes->data();
  const size_t file_size = bytes->size();
  if (file_size < 8 || !flatbuffers::BufferHasIdentifier(buf, fb::ModelIdentifier())) {
    return Status::Error(StatusCode::kNotAModel,
                         "not an mmoe-edge model: the file identifier \"MMOE\" is missing (%zu bytes)",
                         file_size);
  }
  FileLayout layout;
  if (Status s = CheckChecksums(buf, file_size, options, &layout); !s.ok()) return s;
  const bool has_trailer = layout.has_trailer;
  const size_t size = layout.flatbuffer_size;  // the FlatBuffer's bytes
  if (size >= FLATBUFFERS_MAX_BUFFER_SIZE) {
    return Status::Error(StatusCode::kCorruptModel, "model is %zu bytes, above the 2 GiB FlatBuffers limit",
                         size);
  }
  if (Status s = CheckVersion(buf, size, file_size, has_trailer, options, data); !s.ok()) return s;
  flatbuffers::Verifier verifier(buf, size);
  if (!fb::VerifyModelBuffer(verifier)) {
    return Status::Error(StatusCode::kCorruptModel,
                         "model file is corrupt: the FlatBuffers verifier rejected it (%zu bytes)", size);
  }
  const fb::Model* m = fb::GetModel(buf);
  if (Status s = CheckFeatures(m); !s.ok()) return s;
  FileGraph file;
  if (layout.segmented) {
    const size_t base = (size + kSegmentAlign - 1) / kSegmentAlign * kSegmentAlign;
    file.segments = buf + base;
    file.segments_size = layout.segments_end > base ? layout.segments_end - base : 0;
  }
  file.verify_tables = options.verify_tables && options.verify_checksum;
  Status s = data->format_major == 1 ? DecodeV1(m, &file) : DecodeV2(m, &file);
  if (!s.ok()) return s;
  if (s = VerifyGraph(file); !s.ok()) return s;
  data->bytes = std::move(bytes);
  data->flatbuffer_size = size;
  data->checksum_verified = has_trailer && options.verify_checksum;
  data->model = m;
  PrepareModel(file, data);
  return Status::Ok();
}

}  // namespace mmoe
