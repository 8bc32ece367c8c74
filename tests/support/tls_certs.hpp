// Test certificates made at test time with the `openssl` command (no private key is ever
// checked in): a throwaway CA and leaf certificates it signs, server or client, ECDSA P-256
// or RSA, for the TLS tests and benches. Also `run_command`, which runs a shell command (an
// `openssl s_client`, a `curl`) and captures its output. Test thread only.
#pragma once

#include <string>
#include <vector>

namespace sluice::testing {

struct CommandResult {
  int status = -1;     // the exit status; -1 when it could not run or was killed
  std::string output;  // stdout and stderr together
};
// Runs `command` with /bin/sh; stdin is /dev/null unless the command redirects it.
CommandResult run_command(const std::string& command);

struct CertFiles {
  std::string cert;  // PEM
  std::string key;   // PEM
};

class TestPki {
 public:
  // Makes the CA in `dir` (ca.pem, ca.key). Throws std::runtime_error when openssl fails.
  explicit TestPki(std::string dir);
  const std::string& ca_cert() const { return ca_cert_; }
  // A leaf signed by the CA, `name`.pem / `name`.key in the directory, subject CN=`common_name`
  // with `dns` as subjectAltNames. `rsa`: RSA 2048 instead of ECDSA P-256. `client`: for
  // client authentication (mTLS) instead of a server.
  CertFiles leaf(const std::string& name, const std::string& common_name,
                 const std::vector<std::string>& dns, bool rsa = false, bool client = false) const;

 private:
  std::string dir_;
  std::string ca_cert_;
  std::string ca_key_;
};

}  // namespace sluice::testing
