# TTFT distribution: the cumulative fraction of requests by time to first token, one line per
# variant of a serving run with requests.csv (results/plots/ttft.dat: variant ttft_s).
set terminal pngcairo size 900,560 font ",11"
set output "results/plots/ttft-cdf.png"
set title "Serving: time to first token, CDF over requests (Llama 3 70B, TP 8, 24 requests/s)"
set xlabel "time to first token (s)"
set ylabel "fraction of requests"
set logscale x
set yrange [0:1]
set key bottom right
set grid
plot for [s in SYSTEMS] "results/plots/ttft.dat" using (strcol(1) eq s ? $2 : 1/0):(1) smooth cnormal with lines linewidth 2 title s
