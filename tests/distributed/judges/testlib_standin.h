/* A stand-in for testlib.h (https://github.com/MikeMirzayanov/testlib), which is not on
 * this machine: just enough of its checker and interactor API, with its conventions
 * (argument order, exit codes, messages on stderr, quitp's "points" message), for
 * graderq's tests. Real checkers include the real testlib.h instead. */
#ifndef GRADERQ_TESTLIB_STANDIN_H
#define GRADERQ_TESTLIB_STANDIN_H
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string>

enum TResult { _ok = 0, _wa = 1, _pe = 2, _fail = 3, _points = 7 };

static void __standin_quit(TResult result, const std::string &message) {
    const char *names[] = {"ok", "wrong answer", "wrong output format", "FAIL"};
    if (result == _points) std::fprintf(stderr, "points %s\n", message.c_str());
    else std::fprintf(stderr, "%s %s\n", names[result], message.c_str());
    std::exit(result);
}

static std::string __standin_format(const char *format, va_list args) {
    char buffer[4096];
    std::vsnprintf(buffer, sizeof buffer, format, args);
    return buffer;
}

[[noreturn]] static void quitf(TResult result, const char *format, ...) {
    va_list args;
    va_start(args, format);
    std::string message = __standin_format(format, args);
    va_end(args);
    __standin_quit(result, message);
    std::exit(_fail);
}

[[noreturn]] static void quitp(double points, const char *format, ...) {
    va_list args;
    va_start(args, format);
    std::string message = __standin_format(format, args);
    va_end(args);
    char shown[64];
    std::snprintf(shown, sizeof shown, "%.10f", points);
    std::string number = shown;
    while (number.size() > 1 && number.back() == '0' && number[number.size() - 2] != '.')
        number.pop_back();
    __standin_quit(_points, number + " " + message);
    std::exit(_fail);
}

struct InStream {
    std::FILE *file = nullptr;
    TResult bad = _fail; /* what a malformed stream means: _pe for the output */
    long long readLong() {
        long long value;
        if (std::fscanf(file, "%lld", &value) != 1) quitf(bad, "expected an integer");
        return value;
    }
    int readInt() { return (int)readLong(); }
    std::string readToken() {
        char buffer[256];
        if (std::fscanf(file, "%255s", buffer) != 1) quitf(bad, "expected a token");
        return buffer;
    }
};

static InStream inf, ouf, ans;

static std::FILE *__standin_open(const char *path) {
    std::FILE *file = std::fopen(path, "r");
    if (file == nullptr) quitf(_fail, "cannot open %s", path);
    return file;
}

/* checker INPUT OUTPUT ANSWER */
static void registerTestlibCmd(int argc, char *argv[]) {
    if (argc < 4) quitf(_fail, "usage: %s input output answer", argv[0]);
    inf.file = __standin_open(argv[1]);
    ouf.file = __standin_open(argv[2]);
    ouf.bad = _pe;
    ans.file = __standin_open(argv[3]);
}

/* interactor INPUT OUTPUT: the program's output on stdin, ours to it on stdout */
static void registerInteraction(int argc, char *argv[]) {
    if (argc < 3) quitf(_fail, "usage: %s input output", argv[0]);
    inf.file = __standin_open(argv[1]);
    ouf.file = stdin;
    ouf.bad = _pe;
}
#endif
