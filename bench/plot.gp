# bench/plot.gp - plots of udax-bench results (gnuplot 5).
#   gnuplot -e "dir='results'" bench/plot.gp
# Reads dir/*.csv as written by udax-bench (rows grouped by series) and
# writes dir/bw_write.png, bw_read.png, lat.png, fault.png, fsync.png,
# lock.png.

if (!exists("dir")) dir = "results"
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 900,560 font "sans,10"
} else {
	set terminal png size 900,560
}
set datafile separator ","
set termoption noenhanced
set grid
set key left top

is(col, val) = strcol(col) eq val

# ---- 1. bandwidth -------------------------------------------------------
set logscale x 2
set xlabel "request size (KiB)"
set ylabel "GiB/s"
set yrange [0:*]
set xtics ("4" 4, "16" 16, "64" 64, "256" 256, "1024" 1024, "2048" 2048)
f = dir."/bw.csv"
do for [op in "write read"] {
	set output dir."/bw_".op.".png"
	set title sprintf("p%s bandwidth: udax vs kernel tmpfs vs the copy limits", op)
	plot for [s in "udax udax-alloc tmpfs memcpy nt-copy"] \
		f skip 1 using ($2/1024):(is(1, op) && is(3, s) ? $4 : 1/0) \
		with linespoints lw 2 title s
}
unset logscale x
unset xtics
set xtics

# ---- 2. write latency ---------------------------------------------------
set output dir."/lat.png"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y 10
set yrange [*:*]
set ylabel "microseconds (log)"
unset xlabel
set key left top
set xrange [-0.6:1.6]
f = dir."/lat.csv"
set multiplot layout 1,2 title "4 KiB write latency"
do for [q in "4 5"] {
	set title (q eq "4" ? "p50" : "p99")
	plot f skip 1 every 3::0 using int(q):xtic(1) title "udax", \
		'' skip 1 every 3::1 using int(q) title "tmpfs", \
		'' skip 1 every 3::2 using int(q) title "ext4"
}
unset multiplot
set xrange [*:*]

# ---- 3. fault latency ---------------------------------------------------
set output dir."/fault.png"
set title "page fault latency per kind, p50 (tmpfs: no huge pages, no write-notify)"
set key left top
f = dir."/fault.csv"
plot f skip 1 every 2::0 using 5:xtic(1) title "udax", \
	'' skip 1 every 2::1 using 5 title "tmpfs"
unset style data
set style data lines

# ---- 4. fsync vs K ------------------------------------------------------
set output dir."/fsync.png"
set title "fsync after dirtying K pages of a mapped file"
set logscale xy 10
set xlabel "K (dirty 4 KiB pages)"
set ylabel "fsync time, microseconds (log)"
set key left top
f = dir."/fsync.csv"
plot for [l in "pmd pte"] f skip 1 using 2:(strstrt(strcol(1), l) == 1 ? $4 : 1/0) \
	with linespoints lw 2 title l." entries"
unset logscale

# ---- 5. write_lock cures ------------------------------------------------
set output dir."/lock.png"
set title "mixed pwrite + store-fault workload: throughput per write_lock mode"
set xlabel "threads"
set ylabel "operations per second"
set xtics (1, 2, 4, 8)
set logscale x 2
set xrange [0.9:9]
set yrange [0:*]
f = dir."/lock.csv"
plot for [m in "entry exclusive flush range"] f skip 1 using 2:(is(1, m) ? $3 : 1/0) \
	with linespoints lw 2 title m
