// Guess the number: input.txt holds N, the secret and the query limit. Queries are
// "? x", answered "<" (the secret is smaller), ">" or "="; "! x" is the final guess.
#include <cstdio>
#include <string>
#include "testlib.h"

int main(int argc, char *argv[]) {
    registerInteraction(argc, argv);
    long long n = inf.readLong(), secret = inf.readLong(), limit = inf.readLong();
    std::printf("%lld\n", n);
    std::fflush(stdout);
    for (long long queries = 0;;) {
        std::string op = ouf.readToken();
        long long x = ouf.readLong();
        if (op == "!") {
            if (x == secret) quitf(_ok, "found %lld in %lld queries", secret, queries);
            quitf(_wa, "guessed %lld, the secret is %lld", x, secret);
        }
        if (op != "?") quitf(_pe, "unknown request %s", op.c_str());
        if (++queries > limit) quitf(_wa, "more than %lld queries", limit);
        std::printf("%s\n", secret < x ? "<" : secret > x ? ">" : "=");
        std::fflush(stdout);
    }
}
