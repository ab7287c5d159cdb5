// ObjectStore: the seam between Sluice's producers of files (dataset content, container
// outputs, channel archives) and the S3-compatible store served on the same port.
// Only the interface exists so far; the implementation and the S3 REST front end land
// with the object-store issue. Nothing in the tree implements it yet, on purpose.
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace sluice {

struct ObjectInfo {
  std::string bucket;
  std::string key;
  uint64_t size = 0;
  std::string etag;  // quoted hex MD5 for single-part objects
  int64_t last_modified_micros = 0;
  std::string content_type;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual Status CreateBucket(const std::string& bucket) = 0;
  virtual Status DeleteBucket(const std::string& bucket) = 0;
  virtual Result<ObjectInfo> Put(const std::string& bucket, const std::string& key,
                                 const std::string& data, const std::string& content_type) = 0;
  virtual Result<std::string> Get(const std::string& bucket, const std::string& key) = 0;
  virtual Result<ObjectInfo> Head(const std::string& bucket, const std::string& key) = 0;
  virtual Status Delete(const std::string& bucket, const std::string& key) = 0;
  virtual Result<std::vector<ObjectInfo>> List(const std::string& bucket,
                                               const std::string& prefix) = 0;
};

}  // namespace sluice
