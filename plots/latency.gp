# Latency–throughput: p99 time per output token against output tokens/s per GPU, one point per
# arrival rate of a serving sweep (results/plots/latency.dat: system rate tokens_per_s_per_gpu tpot_p99_s).
set terminal pngcairo size 900,560 font ",11"
set output "results/plots/latency.png"
set title "Serving: p99 TPOT vs throughput as the arrival rate rises (Llama 3 70B, TP 8)"
set xlabel "output tokens/s per GPU"
set ylabel "p99 time per output token (ms)"
set key top left
set grid
plot for [s in SYSTEMS] "results/plots/latency.dat" using (strcol(1) eq s ? $3 : 1/0):($4*1000) with linespoints title s
