// "Print any two positive numbers that sum to N": many right answers.
#include "testlib.h"

int main(int argc, char *argv[]) {
    registerTestlibCmd(argc, argv);
    long long n = inf.readLong();
    long long a = ouf.readLong(), b = ouf.readLong();
    if (a <= 0 || b <= 0) quitf(_wa, "numbers must be positive, got %lld and %lld", a, b);
    if (a + b == n + 1) quitp(0.5, "off by one: %lld + %lld = %lld", a, b, a + b);
    if (a + b != n) quitf(_wa, "%lld + %lld != %lld", a, b, n);
    quitf(_ok, "%lld + %lld = %lld", a, b, n);
}
