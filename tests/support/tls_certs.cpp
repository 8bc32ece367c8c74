#include "tests/support/tls_certs.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace sluice::testing {
namespace {

void must(const std::string& command) {
  const CommandResult r = run_command(command);
  if (r.status != 0) throw std::runtime_error(command + " failed:\n" + r.output);
}

std::string key_options(bool rsa) {
  return rsa ? "-newkey rsa:2048" : "-newkey ec -pkeyopt ec_paramgen_curve:P-256";
}

}  // namespace

CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen(("exec </dev/null 2>&1; " + command).c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TestPki::TestPki(std::string dir)
    : dir_(std::move(dir)), ca_cert_(dir_ + "/ca.pem"), ca_key_(dir_ + "/ca.key") {
  must("openssl req -x509 " + key_options(false) + " -nodes -keyout " + ca_key_ + " -out " +
       ca_cert_ + " -subj /CN=sluice-test-ca -days 2");
}

CertFiles TestPki::leaf(const std::string& name, const std::string& common_name,
                        const std::vector<std::string>& dns, bool rsa, bool client) const {
  const CertFiles files{dir_ + "/" + name + ".pem", dir_ + "/" + name + ".key"};
  const std::string csr = dir_ + "/" + name + ".csr";
  const std::string ext = dir_ + "/" + name + ".ext";
  {
    std::ofstream out(ext);
    out << "extendedKeyUsage=" << (client ? "clientAuth" : "serverAuth") << "\n";
    if (!dns.empty()) {
      out << "subjectAltName=";
      for (size_t i = 0; i < dns.size(); ++i) out << (i ? "," : "") << "DNS:" << dns[i];
      out << "\n";
    }
  }
  must("openssl req " + key_options(rsa) + " -nodes -keyout " + files.key + " -out " + csr +
       " -subj /CN=" + common_name);
  must("openssl x509 -req -in " + csr + " -CA " + ca_cert_ + " -CAkey " + ca_key_ +
       " -CAcreateserial -days 2 -extfile " + ext + " -out " + files.cert);
  return files;
}

}  // namespace sluice::testing
