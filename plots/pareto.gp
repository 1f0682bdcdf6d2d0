# The Pareto front of a serving search: output tokens/s per GPU against tokens/s per user, one
# line per system, each point a configuration no other beats on both (results/plots/pareto.dat:
# system tokens_per_s_per_user tokens_per_s_per_gpu tp users, from pareto.csv).
set terminal pngcairo size 900,560 font ",11"
set output "results/plots/pareto.png"
set title "Llama 3 70B serving: the best configurations (TP, users) per system"
set xlabel "output tokens/s per user (1 / TPOT)"
set ylabel "output tokens/s per GPU"
set key top right
set grid
set arrow from 20, graph 0 to 20, graph 1 nohead dashtype 2
set arrow from 50, graph 0 to 50, graph 1 nohead dashtype 2
plot for [s in SYSTEMS] "results/plots/pareto.dat" using (strcol(1) eq s ? $2 : 1/0):3 with linespoints title s, \
     "results/plots/pareto.dat" using 2:3:(sprintf("TP%d×%d", $4, $5)) with labels offset 0,0.8 font ",8" notitle
