# A submission for guess_interactor.cpp: a binary search, within any query limit >= log2(N).
n = int(input())
lo, hi = 1, n
while True:
    mid = (lo + hi) // 2
    print("?", mid, flush=True)
    reply = input()
    if reply == "=":
        print("!", mid, flush=True)
        break
    lo, hi = (lo, mid - 1) if reply == "<" else (mid + 1, hi)
